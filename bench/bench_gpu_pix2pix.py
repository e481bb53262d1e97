"""Time one InstructPix2Pix edit: dialogpaint's fp16 path and speed-ups vs the plain diffusers call.

The baseline is what a diffusers user gets by default: fp32, the model's scheduler, 100 steps,
s_T 7.5, s_I 1.5. Each variant reports seconds per edit (median), denoising steps per second, peak
GPU memory, the speed-up over the baseline and the image difference from the baseline at the same
seed (mean absolute difference in 0-255 levels and PSNR).

Weights: --model-path DIR (a local timbrooks/instruct-pix2pix download) when present; otherwise the
full-size architecture (SD 1.5 UNet with 8 input channels, the SD VAE, a CLIP ViT-L/14 text
encoder) is built from configs with random weights: same FLOPs and time, meaningless pictures (so
the image differences then measure numerics only). --tiny uses the tests' tiny pipeline and runs on
a CPU in seconds, to check the script itself.

    python bench/bench_gpu_pix2pix.py                    # GPU, random full-size weights
    python bench/bench_gpu_pix2pix.py --model-path DIR   # GPU, real weights
    python bench/bench_gpu_pix2pix.py --tiny             # any machine, tiny random pipeline
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.samples import landscape  # noqa: E402
from tools.errors import EditFailed  # noqa: E402
from tools.instruct_pix2pix import InstructPix2PixParams, run_pipeline  # noqa: E402
from tools.pix2pix_pipeline import prepare_pipeline  # noqa: E402

INSTRUCTION = "make it look like a snowy winter evening"
SEED = 1234


@dataclass
class Result:
    name: str
    steps: int
    seconds: float
    steps_per_s: float
    peak_gib: float | None
    speedup: float = 1.0
    mean_abs_diff: float | None = None
    psnr_db: float | None = None
    status: str = "ok"


def full_size_components(device: str) -> dict[str, Any]:
    """SD 1.5's UNet (8 input channels, as InstructPix2Pix), the SD VAE, CLIP ViT-L/14 text; random."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from tests.tiny_pix2pix import assemble, write_tokenizer_files

    tokenizer = CLIPTokenizer.from_pretrained(write_tokenizer_files(Path(tempfile.mkdtemp()) / "tokenizer"))
    tokenizer.model_max_length = 77
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel(
            sample_size=64, in_channels=8, out_channels=4, layers_per_block=2,
            block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768, attention_head_dim=8,
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        )  # fmt: skip
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=512,
            block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
        )  # fmt: skip
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768,
                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            )
        )  # fmt: skip
    return assemble(unet, vae, text_encoder, tokenizer)


def baseline_pipeline(args: argparse.Namespace, device: str) -> tuple[Any, str]:
    """The fp32 pipeline every variant is derived from, and a word on where its weights came from."""
    import torch
    from diffusers import StableDiffusionInstructPix2PixPipeline as Pipeline

    if args.model_path:
        pipe = Pipeline.from_pretrained(args.model_path, torch_dtype=torch.float32, local_files_only=True)
        source = f"real weights from {args.model_path}"
    elif args.tiny:
        from tests.tiny_pix2pix import tiny_components

        pipe = Pipeline(**tiny_components(Path(tempfile.mkdtemp())), requires_safety_checker=False)
        source = "tiny random-weight pipeline (tests/tiny_pix2pix.py)"
    else:
        pipe = Pipeline(**full_size_components(device), requires_safety_checker=False)
        source = "full-size SD 1.5 InstructPix2Pix architecture, random weights"
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device), source


def half_copy(pipe: Any, device: str) -> Any:
    """The same weights in fp16 on CUDA (fp32 on a CPU, where fp16 convolutions are not worth it)."""
    import torch

    copied = copy.deepcopy(pipe)
    return copied.to(torch.float16) if device.startswith("cuda") else copied


def weight_bytes(pipe: Any) -> int:
    """Bytes of the pipeline's parameters and buffers."""
    modules = [m for m in pipe.components.values() if hasattr(m, "parameters")]
    return sum(t.numel() * t.element_size() for m in modules for t in [*m.parameters(), *m.buffers()])


def timed(fn: Callable[[], Any], pipe: Any, runs: int, device: str) -> tuple[float, float | None, Any, str]:
    """Median seconds of ``runs`` calls after one warm-up, peak GPU GiB, last output, status.

    Every variant's pipeline stays resident, so the peak is this pipeline's weights plus what the
    edit allocated on top of everything already there.
    """
    import torch

    cuda = device.startswith("cuda")
    status, output = "ok", None
    try:
        fn()  # warm-up: cuDNN autotuning, torch.compile, lazy allocations
    except EditFailed as exc:
        status = f"output refused: {exc}"
    resident = 0
    # Every torch.cuda call names the device: without it they act on the current device (cuda:0), so
    # with --device cuda:1 the timings would not wait for the GPU and the memory would be GPU 0's.
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        resident = torch.cuda.memory_allocated(device)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        try:
            output = fn()
        except EditFailed:
            output = None
        if cuda:
            torch.cuda.synchronize(device)
        seconds.append(time.perf_counter() - start)
    peak = (weight_bytes(pipe) + torch.cuda.max_memory_allocated(device) - resident) / 1024**3 if cuda else None
    return statistics.median(seconds), peak, output, status


def as_array(output: Any) -> np.ndarray | None:
    """An edit's pixels as uint8, from a PIL image or diffusers' float frame."""
    if output is None:
        return None
    if hasattr(output, "images"):
        frame = output.images[0]
        if not np.isfinite(frame).all():
            return None
        return (np.clip(frame, 0, 1) * 255).round().astype(np.uint8)
    return np.asarray(output)


def difference(image: np.ndarray | None, reference: np.ndarray | None) -> tuple[float | None, float | None]:
    """Mean absolute difference (0-255) and PSNR (dB) of two same-size images."""
    if image is None or reference is None or image.shape != reference.shape:
        return None, None
    delta = image.astype(np.float64) - reference.astype(np.float64)
    mse = float((delta**2).mean())
    return float(np.abs(delta).mean()), (99.0 if mse == 0 else 10 * np.log10(255**2 / mse))


def variants(args: argparse.Namespace, base: Any, device: str) -> list[tuple[str, int, Any, Callable[[], Any]]]:
    """(name, steps, pipeline, call) for every configuration to time, baseline first."""
    import torch
    from diffusers.models.attention_processor import AttnProcessor

    image = landscape().resize((args.size, args.size))
    cuda = device.startswith("cuda")

    def plain(pipe: Any, steps: int) -> Callable[[], Any]:
        generator = torch.Generator("cpu")
        return lambda: pipe(
            INSTRUCTION, image=image, num_inference_steps=steps, generator=generator.manual_seed(SEED),
            output_type="np",
        )  # fmt: skip

    def dialogpaint(pipe: Any, steps: int, scheduler: str = "euler_ancestral") -> Callable[[], Any]:
        params = InstructPix2PixParams(instruction=INSTRUCTION, steps=steps, scheduler=scheduler)  # type: ignore[arg-type]
        return lambda: run_pipeline(pipe, image, params, seed=SEED, max_side=args.size)

    half = half_copy(base, device)
    classic = copy.deepcopy(half)
    classic.unet.set_attn_processor(AttnProcessor())  # the pre-SDPA attention, to show what SDPA saves
    tuned = prepare_pipeline(copy.deepcopy(half), device)  # what load_pipeline does: channels_last etc.
    dtype = "fp16" if cuda else "fp32"
    tool = f"dialogpaint tool ({dtype}, SDPA{', channels_last' if cuda else ''})"
    runs: list[tuple[str, int, Any, Callable[[], Any]]] = [
        ("diffusers default call (fp32)", 100, base, plain(base, 100)),
        (f"{dtype}, classic attention", 100, classic, plain(classic, 100)),
        (f"{dtype}, SDPA", 100, half, plain(half, 100)),
        (f"{dtype}, SDPA", 20, half, plain(half, 20)),
        (tool, 20, tuned, dialogpaint(tuned, 20)),
        (f"dialogpaint tool, dpmpp_2m ({dtype})", 10, tuned, dialogpaint(tuned, 10, "dpmpp_2m")),
        (f"dialogpaint tool, unipc ({dtype})", 10, tuned, dialogpaint(tuned, 10, "unipc")),
    ]
    if args.compile:
        compiled = prepare_pipeline(copy.deepcopy(half), device)
        # diffusers' recommended setting: the whole UNet as one graph, replayed with CUDA graphs.
        compiled.unet = torch.compile(compiled.unet, mode=args.compile_mode, fullgraph=True)
        runs.append((f"dialogpaint tool + torch.compile ({dtype})", 20, compiled, dialogpaint(compiled, 20)))
    return runs


def main() -> None:
    import diffusers
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-path", help="a local InstructPix2Pix pipeline folder (else random weights)")
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny pipeline; runs on a CPU")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, help="square edit size (default 512; 128 with --tiny)")
    parser.add_argument("--runs", type=int, help="timed runs per variant after one warm-up (default 3; 1 tiny)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="also time torch.compile (default: on for CUDA; compiling takes minutes)")  # fmt: skip
    parser.add_argument("--compile-mode", default="reduce-overhead", help="torch.compile mode for the UNet")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    args.size = args.size or (128 if args.tiny else 512)
    args.runs = args.runs or (1 if args.tiny else 3)
    args.compile = args.device.startswith("cuda") if args.compile is None else args.compile
    if args.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
    base, source = baseline_pipeline(args, args.device)
    device_name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "CPU"
    print(f"# {device_name}; torch {torch.__version__}, diffusers {diffusers.__version__}; {source}")
    print(f"# one {args.size}x{args.size} edit, median of {args.runs} run(s) after a warm-up\n")
    results: list[Result] = []
    reference = None
    for name, steps, pipe, call in variants(args, base, args.device):
        seconds, peak, output, status = timed(call, pipe, args.runs, args.device)
        pixels = as_array(output)
        reference = pixels if reference is None and not results else reference
        diff, psnr = difference(pixels, reference)
        result = Result(name, steps, seconds, steps / seconds, peak, status=status)
        result.speedup = results[0].seconds / seconds if results else 1.0
        result.mean_abs_diff, result.psnr_db = diff, psnr
        results.append(result)
        print(format_row(result), flush=True)
    fastest = min(results[1:], key=lambda r: r.seconds)
    print(
        f"\nfastest: {fastest.name}, {fastest.steps} steps: {fastest.seconds:.3f} s/edit, "
        f"{fastest.speedup:.1f}x the default call (issue targets on an H100: < 0.25 s, >= 10x)"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"device": device_name, "source": source, "results": [asdict(r) for r in results]})
        )


def format_row(r: Result) -> str:
    """One result as a markdown table row (the header is printed with the first row)."""
    header = (
        "| variant | steps | s/edit | steps/s | peak GiB | speed-up | mean abs diff | PSNR dB | status |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
        if r.speedup == 1.0 and r.steps == 100 and "default" in r.name
        else ""
    )
    peak = f"{r.peak_gib:.2f}" if r.peak_gib is not None else "n/a"
    diff = f"{r.mean_abs_diff:.2f}" if r.mean_abs_diff is not None else "n/a"
    psnr = f"{r.psnr_db:.1f}" if r.psnr_db is not None else "n/a"
    return (
        f"{header}| {r.name} | {r.steps} | {r.seconds:.3f} | {r.steps_per_s:.1f} | {peak} | "
        f"{r.speedup:.1f}x | {diff} | {psnr} | {r.status} |"
    )


if __name__ == "__main__":
    main()
