"""Time every generative editor (Qwen-Image-Edit-2511, FLUX.2 klein 4B, LongCat-Image-Edit) on one GPU.

For each editor, at 512² and 1024², its default tier and its fast tier (Qwen: Lightning, 8 steps, no
CFG; LongCat: Turbo, 8 steps, no CFG; klein is the fast tier, 4 steps): seconds per edit (median of
``--runs`` after a warm-up), peak GPU memory, the working size, and with real weights the shift between
input and output (phase correlation, pixels). Edits run through each tool's own ``run`` (the geometry
round trip, scheduler, progress), so the numbers are what a user's edit costs.

Weights: ``--weights NAME=DIR`` uses a local pipeline folder (``longcat_image_edit_turbo=DIR`` for Turbo's,
``--qwen-lora FILE`` for Qwen's Lightning tier; without them that tier times the base weights at its steps,
the same cost); otherwise the full-size architecture is
built on the GPU from ``bench/editor_configs/NAME.json`` with random weights in bf16: the same FLOPs and
memory, meaningless pictures (no shift is reported then). A tier whose default runs many steps (Qwen 40
with CFG, LongCat 50 with CFG) is timed at 2 and 6 steps and projected as fixed + steps x per-step cost
(the transformer's cost per flow-matching step is the same at every step); the table says so.
``--tiny`` builds the tests' tiny pipelines (tests/tiny_editors.py) and runs on a CPU in about a minute,
to check the script, and instantiates the full-size configs on the meta device to check them too.

    python bench/bench_gpu_editors.py                          # H100-class GPU, random full-size weights
    python bench/bench_gpu_editors.py --weights flux2_klein=DIR --weights qwen_image_edit=DIR2 --qwen-lora FILE
    python bench/bench_gpu_editors.py --cache --compile        # diffusers' first-block cache, torch.compile
    python bench/bench_gpu_editors.py --tiny                   # any machine, tiny random pipelines
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.samples import landscape  # noqa: E402
from bench.full_size_editors import build_full_size, meta_parameter_counts  # noqa: E402
from tools import diffusion_editor  # noqa: E402
from tools.diffusion_editor import DiffusionEditor  # noqa: E402
from tools.edit_geometry import shift_between  # noqa: E402
from tools.flux2_klein import Flux2Klein  # noqa: E402
from tools.longcat_image_edit import LongCatImageEdit  # noqa: E402
from tools.qwen_image_edit import QwenImageEdit  # noqa: E402

INSTRUCTION = "make it a snowy winter evening, keep the hills, the trees and the framing exactly as they are"
SEED = 1234
EDITORS: dict[str, type[DiffusionEditor]] = {
    "qwen_image_edit": QwenImageEdit, "flux2_klein": Flux2Klein, "longcat_image_edit": LongCatImageEdit,
}  # fmt: skip
# (tier, tool options, params): the default tier first, then the fast one.
TIERS: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {
    "qwen_image_edit": [("default (40 steps, CFG 4)", {}, {}),
                        ("Lightning (8 steps, no CFG)", {}, {"steps": 8, "true_cfg_scale": 1.0})],
    "flux2_klein": [("distilled (4 steps)", {}, {})],
    "longcat_image_edit": [("default (50 steps, CFG 4.5)", {}, {}),
                           ("Turbo (8 steps, no CFG)", {"turbo": True}, {})],
}  # fmt: skip
PROJECT_ABOVE = 8  # tiers with more steps than this are projected from timed runs at 2 and 6 steps
TINY_PROJECT_ABOVE = 2  # --tiny: every tier above 2 steps is projected from 1 and 2, to stay near a minute


@dataclass
class Row:
    editor: str
    tier: str
    size: int
    work: str
    steps: int
    seconds: float
    how: str
    peak_gib: float | None
    shift_px: float | None
    status: str = "ok"


def timed(edit: Callable[[int], Any], steps: int, runs: int, device: str) -> tuple[float, float | None, Any]:
    """Median seconds of ``runs`` edits at ``steps`` (after the caller's warm-up), peak GiB, the last result."""
    import torch

    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    seconds, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = edit(steps)
        if cuda:
            torch.cuda.synchronize(device)
        seconds.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 1024**3 if cuda else None
    return statistics.median(seconds), peak, result


def bench_tier(
    tool: DiffusionEditor, pipe: Any, params: dict[str, Any], size: int, args: argparse.Namespace
) -> tuple[int, float, str, float | None, Any]:
    """(steps, seconds per edit, how it was measured, peak GiB, last result) of one tier at one size."""
    image = landscape().resize((size, size))
    base = tool.Params(instruction=INSTRUCTION, **params)
    steps = tool.call_arguments(base, image)["num_inference_steps"]

    def edit(n: int) -> Any:
        return tool.run(pipe, image, base.model_copy(update={"steps": n}), seed=SEED)

    low, high = (1, 2) if args.tiny else (2, 6)
    if not args.tiny:  # a tiny CPU run has no kernels to tune or graphs to compile
        edit(low)  # warm-up: kernels, allocator, torch.compile
    if steps <= (TINY_PROJECT_ABOVE if args.tiny else PROJECT_ABOVE):
        seconds, peak, result = timed(edit, steps, args.runs, args.device)
        return steps, seconds, f"median of {args.runs}", peak, result
    few, peak, result = timed(edit, low, args.runs, args.device)
    more, peak_more, _ = timed(edit, high, args.runs, args.device)
    per_step = (more - few) / (high - low)
    fixed = few - low * per_step
    peaks = [p for p in (peak, peak_more) if p is not None]
    if per_step <= 0 or fixed < 0:  # a busy machine: the longer run was not the slower one, or not by enough
        how = f"not projected: {few:.2f} s at {low} steps, {more:.2f} s at {high} (timing noise; use more --runs)"
        return steps, float("nan"), how, max(peaks) if peaks else None, result
    how = f"projected: {fixed:.2f} s + {steps} x {per_step:.3f} s/step (median of {args.runs} at {low}, {high} steps)"
    return steps, fixed + steps * per_step, how, max(peaks) if peaks else None, result


def load(name: str, key: str, options: dict[str, Any], args: argparse.Namespace, tiny_dirs: dict[str, Path]) -> Any:
    """(tool, pipeline, source) for one editor: the weights under ``key`` in --weights, else random full-size."""
    side = args.sizes[0]
    if args.tiny or key in args.weights:
        folder = tiny_dirs[name] if args.tiny else Path(args.weights[key])
        tool = EDITORS[name](folder, device=args.device, allow_cpu=True, max_side=side, fp8=args.fp8, **options)
        return tool, tool.pipeline(), f"weights from {folder}"
    tool = EDITORS[name](None, device=args.device, max_side=side, **options)
    pipe = build_full_size(name, args.device)
    if args.fp8:
        import torch

        pipe.transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=torch.bfloat16)
    return tool, pipe, "full-size architecture, random bf16 weights"


def speedups(pipe: Any, args: argparse.Namespace) -> None:
    """diffusers' first-block cache and torch.compile on the transformer, when asked for."""
    if args.cache:
        from diffusers.hooks import FirstBlockCacheConfig

        pipe.transformer.enable_cache(FirstBlockCacheConfig(threshold=args.cache_threshold))
    if args.compile:
        import torch

        pipe.transformer.compile(mode="max-autotune-no-cudagraphs", dynamic=False)
        torch.set_float32_matmul_precision("high")


def tier_weights(name: str, tier: str, options: dict[str, Any], args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Which loaded pipeline a tier runs on (its key) and the tool options that load it."""
    if options.get("turbo") and f"{name}_turbo" in args.weights:
        return f"{name}_turbo", options
    if "Lightning" in tier and args.qwen_lora and name in args.weights:  # real Lightning: its own fused copy
        return f"{name}_lightning", {**options, "lora": args.qwen_lora}
    return name, options


def bench_editor(name: str, args: argparse.Namespace, tiny_dirs: dict[str, Path]) -> list[Row]:
    """Every tier and size of one editor, printed as they come; its pipelines freed at the end."""
    rows: list[Row] = []
    loaded: dict[str, Any] = {}  # one pipeline per weights: Qwen's tiers share theirs without a LoRA
    for tier, tier_options, params in TIERS[name]:
        key, options = tier_weights(name, tier, tier_options, args)
        if key not in loaded:
            free(loaded, args.device)
            loaded[key] = load(name, key.removesuffix("_lightning"), options, args, tiny_dirs)
            speedups(loaded[key][1], args)
        tool, pipe, source = loaded[key]
        real = not args.tiny and tool.model is not None  # real weights: the shift means something
        for size in args.sizes:  # the working area follows the input (LongCat's pipeline stays at 1 MP)
            tool = EDITORS[name](tool.model, device=args.device, allow_cpu=True, max_side=size, **options)
            rows.append(run_row(name, tier, tool, pipe, params, size, args, real=real))
            print(format_row(rows[-1]), flush=True)
        print(f"# {name} {tier}: {source}", flush=True)
    free(loaded, args.device)
    return rows


def free(loaded: dict[str, Any], device: str) -> None:
    """Drop the loaded pipelines (ours and the tools' per-process cache) and give their memory back."""
    import torch

    loaded.clear()
    diffusion_editor._pipelines.clear()  # the tools keep what they loaded for the next edit
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def main() -> None:
    import diffusers
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny pipelines; runs on a CPU")
    parser.add_argument("--weights", action="append", default=[], metavar="NAME=DIR", help="a local pipeline folder")
    parser.add_argument("--qwen-lora", help="with --weights qwen_image_edit=DIR: the Lightning LoRA file to fuse")
    parser.add_argument("--editors", nargs="+", default=list(EDITORS), choices=list(EDITORS))
    parser.add_argument("--sizes", nargs="+", type=int, help="square input sides (default 512 1024; tiny: 64)")
    parser.add_argument("--runs", type=int, help="timed runs after a warm-up (default 5; 1 with --tiny)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--fp8", action="store_true", help="FP8 transformer weights (layerwise casting, sm_89+)")
    parser.add_argument("--cache", action="store_true", help="diffusers' first-block cache on the transformer")
    parser.add_argument("--cache-threshold", type=float, default=0.2)
    parser.add_argument("--compile", action="store_true", help="torch.compile the transformer (minutes to compile)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    args.weights = dict(item.split("=", 1) for item in args.weights)
    args.sizes = args.sizes or ([64] if args.tiny else [512, 1024])
    args.runs = args.runs or (1 if args.tiny else 5)
    started = time.perf_counter()
    tiny_dirs: dict[str, Path] = {}
    if args.tiny:
        from tests.tiny_editors import BUILDERS

        folder = Path(tempfile.mkdtemp())
        tiny_dirs = {name: BUILDERS[name](folder / name) for name in args.editors}
        for name, count in meta_parameter_counts(list(EDITORS)).items():
            billions = f"transformer {count['transformer_b']:.2f}B, text encoder {count['text_encoder_b']:.2f}B"
            print(f"# full-size {name}: {billions} parameters (configs built on the meta device)")
    device_name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "CPU"
    print(f"# {device_name}; torch {torch.__version__}, diffusers {diffusers.__version__}")
    print("| editor | tier | input | working size | steps | s/edit | how | peak GiB | shift px | status |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = [row for name in args.editors for row in bench_editor(name, args, tiny_dirs)]
    print(f"\n# total {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"device": device_name, "rows": [asdict(r) for r in rows]}, indent=1))


def run_row(  # noqa: PLR0917 - one row's coordinates
    name: str, tier: str, tool: DiffusionEditor, pipe: Any, params: dict[str, Any], size: int,
    args: argparse.Namespace, *, real: bool,
) -> Row:  # fmt: skip
    """One table row; an out-of-memory or other failure becomes the row's status."""
    import torch

    work = "x".join(map(str, tool.work_size(pipe, (size, size))))
    try:
        steps, seconds, how, peak, result = bench_tier(tool, pipe, params, size, args)
    except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
        return Row(name, tier, size, work, 0, float("nan"), "-", None, None, f"failed: {str(exc).splitlines()[0]}")
    shift = None
    if real and result is not None:
        dx, dy = shift_between(landscape().resize((size, size)), result)
        shift = (dx**2 + dy**2) ** 0.5
    status = "timing noise" if math.isnan(seconds) else "ok"
    return Row(name, tier, size, work, steps, seconds, how, peak, shift, status)


def format_row(r: Row) -> str:
    """One result as a markdown table row."""
    peak = f"{r.peak_gib:.1f}" if r.peak_gib is not None else "n/a"
    shift = f"{r.shift_px:.2f}" if r.shift_px is not None else "n/a"
    return (
        f"| {r.editor} | {r.tier} | {r.size}² | {r.work} | {r.steps} | {r.seconds:.3f} | {r.how} | {peak} | "
        f"{shift} | {r.status} |"
    )


if __name__ == "__main__":
    main()
