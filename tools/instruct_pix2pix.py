"""instruct_pix2pix: the paper's generative editor, diffusers' StableDiffusionInstructPix2PixPipeline.

InstructPix2Pix (Brooks et al.) conditions Stable Diffusion on the input image and the instruction,
with two classifier-free guidance scales: s_T (``guidance_scale``) for the text and s_I
(``image_guidance_scale``) for the image. torch and diffusers are imported only when the pipeline is
first loaded, so the core install and ``dialogpaint --help`` never pay for them.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from tools.base import ProgressCallback, ToolCapabilities, check_max_side
from tools.errors import EditFailed, ToolUnavailable

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

Scheduler = Literal["euler_ancestral", "euler", "dpmpp_2m", "ddim"]
ENABLE_HINT = (
    "install the GPU extra (pip install 'dialogpaint[gpu]') and point --model-path (or "
    "DIALOGPAINT_MODEL_PATH) at a local copy of timbrooks/instruct-pix2pix"
)


class InstructPix2PixParams(BaseModel):
    """Edit the image by following a free-form instruction with the InstructPix2Pix diffusion model:
    change, add, remove or replace objects, materials, styles, seasons, weather, time of day or
    backgrounds (e.g. 'turn the dog into a cheetah', 'make it look like winter'). Use it when no
    specific tool fits. The instruction must be imperative and self-contained.
    """

    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(min_length=2, max_length=300, description="E.g. 'turn the sky purple'.")
    # 20 steps with Euler ancestral is the interactive default; the paper samples 100 steps.
    steps: int = Field(20, ge=1, le=150, description="Denoising steps; more is slower, finer.")
    guidance_scale: float = Field(7.5, ge=1.0, le=20.0, description="s_T: how strongly to follow the instruction.")
    image_guidance_scale: float = Field(
        1.5, ge=1.0, le=5.0, description="s_I: how closely to stay with the input image."
    )
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Fixed seed; chosen if absent.")
    scheduler: Scheduler = Field("euler_ancestral", description="The sampler.")


class InstructPix2Pix:
    """InstructPix2Pix on a GPU (or an explicitly allowed CPU), loaded once per process."""

    name: ClassVar[str] = "instruct_pix2pix"
    Params: ClassVar[type[BaseModel]] = InstructPix2PixParams
    capabilities: ClassVar[ToolCapabilities] = ToolCapabilities(
        device="gpu", cost="high", deterministic=False, max_side=4096, generative=True
    )

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str | None = None,
        allow_cpu: bool = False,
        max_side: int = 512,
    ) -> None:
        """Configure without loading anything.

        Args:
            model: a local directory saved with ``save_pretrained`` or a model id already in the
                Hugging Face cache (nothing is downloaded).
            device: ``cuda``, ``cuda:1``, ``cpu``...; default: CUDA when available.
            allow_cpu: run on the CPU when no GPU exists (slow; off by default).
            max_side: the longest side the model works at, a multiple of 64 (the result is resized
                back to the input's size).
        """
        if max_side < 64 or max_side % 64:
            raise ValueError(f"max_side must be a positive multiple of 64, got {max_side}")
        self.model = str(model) if model is not None else None
        self.device = device
        self.allow_cpu = allow_cpu
        self.max_side = max_side

    def unavailable_reason(self) -> str | None:
        """Why this tool cannot run here, or None; cheap (imports nothing heavy)."""
        missing = [m for m in ("torch", "diffusers", "transformers") if not importlib.util.find_spec(m)]
        if missing:
            return f"instruct_pix2pix needs {', '.join(missing)}: {ENABLE_HINT}"
        if self.model is None:
            return f"instruct_pix2pix has no model configured: {ENABLE_HINT}"
        return None

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """Refuse inputs beyond the tool's side limit."""
        check_max_side(self, image)

    def __call__(
        self,
        image: Image.Image,
        params: BaseModel,
        *,
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> Image.Image:
        """Edit ``image`` by ``params.instruction``; NaN or black results raise EditFailed."""
        assert isinstance(params, InstructPix2PixParams)
        # 1. Load (once per process; ToolUnavailable names what is missing), pick the scheduler.
        pipe = self.pipeline()
        import torch  # only once the pipeline is known to be available

        pipe.scheduler = make_scheduler(params.scheduler, pipe.scheduler.config)
        # 2. Resize to the model's working size: long side <= max_side, both sides multiples of 64.
        work = image.resize(working_size(image.size, self.max_side), Image.Resampling.LANCZOS)
        generator = torch.Generator(device="cpu").manual_seed(seed)
        # 3. Denoise, reporting each step; a progress callback may cancel by raising.
        start = time.perf_counter()
        try:
            frames = pipe(
                params.instruction,
                image=work,
                num_inference_steps=params.steps,
                guidance_scale=params.guidance_scale,
                image_guidance_scale=params.image_guidance_scale,
                generator=generator,
                output_type="np",
                callback_on_step_end=step_reporter(progress, params.steps),
            ).images
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise EditFailed(
                f"out of GPU memory editing at {work.width}x{work.height}; try a smaller image or max side"
            ) from None
        logger.info("instruct_pix2pix %d steps at %s in %.2fs", params.steps, work.size, time.perf_counter() - start)
        # 4. Refuse broken outputs, then return at the input's size.
        result = checked_frame(frames[0])
        return result.resize(image.size, Image.Resampling.LANCZOS)

    def pipeline(self) -> Any:
        """The loaded pipeline, shared by every tool instance with the same model and device."""
        reason = self.unavailable_reason()
        if reason:
            raise ToolUnavailable(reason)
        assert self.model is not None
        return load_pipeline(self.model, self.device, self.allow_cpu)


_pipelines: dict[tuple[str, str], Any] = {}
_load_lock = threading.Lock()


def load_pipeline(model: str, device: str | None, allow_cpu: bool) -> Any:
    """Load the pipeline once per (model, device): fp16 on CUDA, fp32 on an allowed CPU."""
    import torch
    from diffusers import StableDiffusionInstructPix2PixPipeline

    target = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if target.startswith("cpu") and not allow_cpu:
        raise ToolUnavailable(
            "instruct_pix2pix found no CUDA GPU; allow the (slow) CPU with --allow-cpu or DIALOGPAINT_ALLOW_CPU=1"
        )
    with _load_lock:
        key = (model, target)
        if key not in _pipelines:
            dtype = torch.float16 if target.startswith("cuda") else torch.float32
            try:
                pipe = StableDiffusionInstructPix2PixPipeline.from_pretrained(  # type: ignore[no-untyped-call]
                    model, torch_dtype=dtype, safety_checker=None, local_files_only=True
                )
            except (OSError, ValueError) as exc:
                raise ToolUnavailable(
                    f"no InstructPix2Pix weights found at {model!r} (nothing is downloaded): {exc}"
                ) from None
            pipe.set_progress_bar_config(disable=True)
            if target.startswith("cuda"):
                pipe.unet.to(memory_format=torch.channels_last)
            _pipelines[key] = pipe.to(target)
            logger.info("loaded instruct_pix2pix from %s on %s (%s)", model, target, dtype)
        return _pipelines[key]


def make_scheduler(name: Scheduler, config: Any) -> Any:
    """Build the named scheduler from the pipeline's scheduler config."""
    import diffusers

    classes = {
        "euler_ancestral": diffusers.EulerAncestralDiscreteScheduler,
        "euler": diffusers.EulerDiscreteScheduler,
        "dpmpp_2m": diffusers.DPMSolverMultistepScheduler,
        "ddim": diffusers.DDIMScheduler,
    }
    return classes[name].from_config(config)


def working_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """Scale so the long side is at most ``max_side``, then round both sides to multiples of 64."""
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return tuple(max(64, round(side * scale / 64) * 64) for side in (width, height))  # type: ignore[return-value]


def step_reporter(progress: ProgressCallback | None, total: int) -> Any:
    """A diffusers ``callback_on_step_end`` that forwards (step, total) to ``progress``."""

    def on_step_end(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if progress is not None:
            progress(step + 1, total)
        return kwargs

    return on_step_end


def checked_frame(frame: np.ndarray) -> Image.Image:
    """Convert a float HxWx3 frame in [0, 1] to an image, refusing NaN or all-black output."""
    import numpy as np

    if not np.isfinite(frame).all():
        raise EditFailed("the diffusion model produced NaN values (fp16 overflow); nothing was saved")
    if float(frame.max()) < 1.0 / 255.0:
        raise EditFailed(
            "the diffusion model produced an all-black image (safety filter or overflow); nothing was saved"
        )
    return Image.fromarray((frame.clip(0.0, 1.0) * 255.0).round().astype(np.uint8), "RGB")
