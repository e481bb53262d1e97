"""Throughput of the editor's training recipes: make-pairs rendering and finetune-editor steps.

Prints pairs rendered per second (one Prompt-to-Prompt candidate = a batch of two prompts, CLIP
scoring excluded), training samples per second and peak memory (GPU: torch's peak allocation; CPU:
the process's peak resident set). The models have random weights: the same FLOPs as real ones,
meaningless pictures.

    python bench/bench_train_editor.py --tiny      # any machine: the tests' tiny pipeline, CPU, seconds
    python bench/bench_train_editor.py             # a GPU: full-size SD 1.5 architecture (UNet, VAE, CLIP-L)
    python bench/bench_train_editor.py --mixed-precision fp16 --gradient-checkpointing --batch-size 16
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.samples import landscape  # noqa: E402
from agent.train.editor.loop import EditorRecipe, finetune_editor  # noqa: E402
from agent.train.pairs.folder import Pair, PairsFolder  # noqa: E402
from agent.train.pairs.render import Sampling, caption_pair, load_text_to_image  # noqa: E402

CAPTION, EDITED = "a photo of a red house by a lake", "a photo of a red house by a lake in winter"


def save_text_to_image(folder: Path, tiny: bool) -> Path:
    """A random-weight Stable Diffusion (4-channel UNet) pipeline folder: the tests' tiny one or SD 1.5's shape."""
    import torch
    from diffusers import StableDiffusionPipeline

    from tests.tiny_pix2pix import tiny_components

    if tiny:
        parts = tiny_components(folder, in_channels=4)
    else:
        from bench_gpu_pix2pix import full_size_components

        parts = full_size_components("cpu")
        unet = parts["unet"]  # SD 1.5's UNet takes the 4 noisy-latent channels only
        unet.conv_in = torch.nn.Conv2d(4, unet.conv_in.out_channels, 3, padding=1)
        unet.register_to_config(in_channels=4)
    names = ("unet", "vae", "text_encoder", "tokenizer", "scheduler", "safety_checker", "feature_extractor")
    pipe = StableDiffusionPipeline(**{k: parts[k] for k in names}, requires_safety_checker=False)
    pipe.save_pretrained(folder / "sd")
    return folder / "sd"


def peak_memory_gib(device: str) -> float:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 1024**3
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def bench_pairs(sd: Path, device: str, args: argparse.Namespace) -> dict[str, Any]:
    pipe = load_text_to_image(sd, device)
    sampling = Sampling(args.pair_steps, 7.5, args.pair_resolution, self_fraction=0.2)
    caption_pair(pipe, CAPTION, EDITED, seed=0, cross_fraction=0.5, sampling=sampling)  # warm-up
    start = time.perf_counter()
    for seed in range(args.pairs):
        caption_pair(pipe, CAPTION, EDITED, seed=seed, cross_fraction=0.5, sampling=sampling)
    seconds = time.perf_counter() - start
    return {"pairs_per_s": args.pairs / seconds, "s_per_pair": seconds / args.pairs,
            "steps": args.pair_steps, "resolution": args.pair_resolution}  # fmt: skip


def bench_training(sd: Path, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    pairs = PairsFolder(folder / "pairs", {}, {})
    image = landscape().resize((args.resolution, args.resolution))
    for row in range(args.batch_size * 2):
        pairs.add(f"r{row}", [Pair(image, image.rotate(180), {"edit_prompt": "turn it upside down"})], candidates=1)
    stamps: list[float] = []
    recipe = EditorRecipe(
        base=sd, data=folder / "pairs", out=folder / "tuned", steps=args.steps, batch_size=args.batch_size,
        resolution=args.resolution, mixed_precision=args.mixed_precision, ema=args.ema,
        gradient_checkpointing=args.gradient_checkpointing, checkpoint_every=args.steps + 1,
    )  # fmt: skip
    report = finetune_editor(recipe, lambda step, total, loss: stamps.append(time.perf_counter()))
    timed = len(stamps) - 1  # from the end of the first step (warm-up) to the end of the last
    seconds = stamps[-1] - stamps[0]
    return {"samples_per_s": timed * args.batch_size / seconds, "s_per_step": seconds / timed,
            "batch_size": args.batch_size, "resolution": args.resolution, "mixed_precision": args.mixed_precision,
            "ema": args.ema, "gradient_checkpointing": args.gradient_checkpointing,
            "first_loss": report.losses[0], "last_loss": report.losses[-1]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny pipeline on the CPU")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default 20; tiny 6)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 4; tiny 2")
    parser.add_argument("--resolution", type=int, default=None, help="training side (default 256, upstream's)")
    parser.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default=None)
    parser.add_argument("--ema", action="store_true")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--pairs", type=int, default=None, help="pairs rendered (default 5; tiny 3)")
    parser.add_argument("--pair-steps", type=int, default=None, help="denoising steps per pair (default 50; tiny 4)")
    parser.add_argument("--pair-resolution", type=int, default=None, help="default 512; tiny 64")
    args = parser.parse_args()
    import torch

    defaults = {"steps": 6, "batch_size": 2, "resolution": 64, "mixed_precision": "no", "pairs": 3,
                "pair_steps": 4, "pair_resolution": 64} if args.tiny else {
                "steps": 20, "batch_size": 4, "resolution": 256, "mixed_precision": "fp16", "pairs": 5,
                "pair_steps": 50, "pair_resolution": 512}  # fmt: skip
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if not args.tiny and device == "cpu":
        sys.exit("the full-size benchmark needs a CUDA GPU; use --tiny here")
    if args.tiny:
        torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sd = save_text_to_image(folder, args.tiny)
        pairs = bench_pairs(sd, device, args)
        pairs["peak_memory_gib"] = peak_memory_gib(device)
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        training = bench_training(sd, folder, args)
        training["peak_memory_gib"] = peak_memory_gib(device)
    gpu = torch.cuda.get_device_name() if device.startswith("cuda") else "cpu"
    print(json.dumps({"device": gpu, "make_pairs": pairs, "finetune_editor": training}, indent=2))


if __name__ == "__main__":
    main()
