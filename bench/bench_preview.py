"""Cost of a confirmation preview and of a step picture, next to the edit they stand for.

Times (median of --runs after a warm-up) the full edit (--steps at --side), the preview the graph makes
before asking (at most --preview-steps at --preview-side, the same seed), and one step picture: the
linear latent-to-RGB approximation against a VAE decode of the same latents. Pipelines as in
bench_gpu_pix2pix.py: --model-path DIR (real weights), default the full-size architecture with random
weights, --tiny the tests' tiny pipeline (any machine, seconds).

    python bench/bench_preview.py --tiny
    python bench/bench_preview.py --model-path DIR      # on a GPU
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.samples import landscape  # noqa: E402
from bench.bench_gpu_pix2pix import INSTRUCTION, SEED, baseline_pipeline  # noqa: E402
from tools.instruct_pix2pix import InstructPix2PixParams, run_pipeline  # noqa: E402
from tools.latent_preview import latent_preview  # noqa: E402


def median_seconds(fn: Callable[[], Any], runs: int) -> float:
    """Median wall time of ``runs`` calls after one warm-up (CUDA synchronised)."""
    import torch

    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-path")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--preview-steps", type=int, default=4)
    parser.add_argument("--preview-side", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    pipe, source = baseline_pipeline(args, device)
    image = landscape()
    full = InstructPix2PixParams(instruction=INSTRUCTION, steps=args.steps)
    quick = full.model_copy(update={"steps": min(args.steps, args.preview_steps)})
    small = image.copy()
    small.thumbnail((args.preview_side, args.preview_side))
    edit_s = median_seconds(lambda: run_pipeline(pipe, image, full, seed=SEED, max_side=args.side), args.runs)
    preview_s = median_seconds(
        lambda: run_pipeline(pipe, small, quick, seed=SEED, max_side=args.preview_side), args.runs
    )
    latents = torch.randn(1, 4, args.side // 8, args.side // 8, device=device, dtype=pipe.vae.dtype)
    linear_s = median_seconds(lambda: latent_preview(latents), args.runs)
    with torch.inference_mode():
        vae_s = median_seconds(lambda: pipe.vae.decode(latents / pipe.vae.config.scaling_factor), args.runs)
    print(json.dumps({
        "weights": source, "device": device, "edit": f"{args.steps} steps at {args.side}",
        "preview": f"{quick.steps} steps at {args.preview_side}", "edit_s": round(edit_s, 4),
        "preview_s": round(preview_s, 4), "preview_share": round(preview_s / edit_s, 3),
        "step_picture_linear_s": round(linear_s, 5), "step_picture_vae_s": round(vae_s, 4),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
