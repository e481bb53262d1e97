"""Loading the InstructPix2Pix diffusers pipeline: weights check, device choice, once-per-process cache.

torch, diffusers and huggingface_hub are imported inside the functions that need them; importing this
module costs nothing.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Literal

from tools.errors import ToolUnavailable

logger = logging.getLogger(__name__)

Scheduler = Literal["euler_ancestral", "euler", "ddim", "dpmpp_2m", "unipc"]
SCHEDULERS: dict[str, str] = {
    "euler_ancestral": "EulerAncestralDiscreteScheduler",  # what timbrooks/instruct-pix2pix ships
    "euler": "EulerDiscreteScheduler",
    "ddim": "DDIMScheduler",
    "dpmpp_2m": "DPMSolverMultistepScheduler",
    "unipc": "UniPCMultistepScheduler",
}
WEIGHTS_HINT = (
    "download them once, e.g. `hf download timbrooks/instruct-pix2pix --local-dir DIR`, "
    "then pass --model-path DIR (or DIALOGPAINT_MODEL_PATH=DIR)"
)
CPU_HINT = "allow the (slow) CPU with --allow-cpu or DIALOGPAINT_ALLOW_CPU=1"
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# Attention slicing trades speed for memory; with SDPA it only pays off on small cards.
SLICING_BELOW_BYTES = 8 * 1024**3

_pipelines: dict[tuple[str, str], Any] = {}
_load_lock = threading.Lock()


def weights_problem(model: str) -> str | None:
    """Why ``model`` (a local directory or a hub model id) cannot hold a pipeline, checked cheaply."""
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            return f"{path} has no model_index.json, so it is not a diffusers pipeline folder; {WEIGHTS_HINT}"
        return None
    if path.exists():
        return f"{path} is a file; the model path must be a diffusers pipeline folder; {WEIGHTS_HINT}"
    if REPO_ID.fullmatch(model) and not model.startswith("."):
        return None  # a hub id: whether it is cached is known only when loading
    return f"no InstructPix2Pix weights at {path} (nothing is downloaded at run time); {WEIGHTS_HINT}"


def resolve_device(device: str | None, allow_cpu: bool) -> str:
    """The torch device to run on: the one asked for, else CUDA; the CPU only when allowed."""
    import torch

    if device is None:
        if torch.cuda.is_available():
            return "cuda"
        device = "cpu"
        reason = f"instruct_pix2pix found no CUDA GPU (torch {torch.__version__}, CUDA build {torch.version.cuda})"
    else:
        reason = f"instruct_pix2pix was asked to run on {device!r}"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ToolUnavailable(f"{reason}, but torch sees no CUDA GPU (torch {torch.__version__}); {CPU_HINT}")
    if device == "cpu" and not allow_cpu:
        raise ToolUnavailable(f"{reason}; {CPU_HINT}")
    return device


def load_pipeline(model: str, device: str | None, allow_cpu: bool) -> Any:
    """The pipeline for (model, device), loaded once per process: fp16 on CUDA, fp32 elsewhere."""
    problem = weights_problem(model)
    if problem:
        raise ToolUnavailable(problem)
    target = resolve_device(device, allow_cpu)
    with _load_lock:
        key = (model, target)
        if key not in _pipelines:
            start = time.perf_counter()
            _pipelines[key] = prepare_pipeline(open_pipeline(model, target), target)
            logger.info("loaded instruct_pix2pix %s on %s in %.1fs", model, target, time.perf_counter() - start)
        return _pipelines[key]


def open_pipeline(model: str, target: str) -> Any:
    """``from_pretrained`` from local files only; a missing or broken download is a ToolUnavailable."""
    import torch
    from diffusers import StableDiffusionInstructPix2PixPipeline

    dtype = torch.float16 if target.startswith("cuda") else torch.float32
    folder = Path(model).expanduser()
    try:
        with warnings.catch_warnings():
            # Recent diffusers renamed torch_dtype to dtype (huggingface/diffusers#14205); the releases
            # the gpu extra allows before that know only torch_dtype, so keep it and drop the notice.
            warnings.filterwarnings("ignore", message="`torch_dtype` is deprecated", category=FutureWarning)
            return StableDiffusionInstructPix2PixPipeline.from_pretrained(  # type: ignore[no-untyped-call]
                str(folder) if folder.is_dir() else model, torch_dtype=dtype, local_files_only=True
            )
    except (OSError, ValueError) as exc:
        cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        what = f"the pipeline folder {folder} is incomplete" if folder.is_dir() else f"{model!r} is not cached locally"
        raise ToolUnavailable(f"InstructPix2Pix weights: {what} ({cause}); {WEIGHTS_HINT}") from None


def prepare_pipeline(pipe: Any, target: str) -> Any:
    """Move to the device and set the memory and speed options for it."""
    import torch

    pipe.set_progress_bar_config(disable=True)
    pipe = pipe.to(target)
    if target.startswith("cuda"):
        # channels_last helps the UNet's convolutions on tensor cores; SDPA attention is diffusers'
        # default processor on torch >= 2, so nothing to switch there.
        pipe.unet.to(memory_format=torch.channels_last)
        if torch.cuda.get_device_properties(torch.device(target)).total_memory < SLICING_BELOW_BYTES:
            pipe.enable_attention_slicing()
    return pipe


def with_scheduler(pipe: Any, name: Scheduler) -> Any:
    """A pipeline sharing ``pipe``'s modules with a fresh scheduler of the given kind.

    A fresh pipeline object per edit keeps the scheduler's per-run state out of the shared one, so
    two sessions editing at once cannot step on each other's timesteps.
    """
    import diffusers

    scheduler = getattr(diffusers, SCHEDULERS[name]).from_config(pipe.scheduler.config)
    runner = type(pipe)(
        **{**pipe.components, "scheduler": scheduler},
        requires_safety_checker=bool(pipe.config.requires_safety_checker),
    )
    runner.set_progress_bar_config(disable=True)
    return runner
