"""instruct_pix2pix: the paper's generative editor, diffusers' StableDiffusionInstructPix2PixPipeline.

InstructPix2Pix (Brooks et al.) conditions Stable Diffusion on the input image and the instruction,
with two classifier-free guidance scales: s_T (``guidance_scale``) for the text and s_I
(``image_guidance_scale``) for the image. torch and diffusers are imported only when the pipeline is
first loaded, so the core install and ``dialogpaint --help`` never pay for them.

Parameters, their ranges, and the interactive defaults next to the paper's:

=====================  ==========  ===================  ===================================
param                  range       default (here)       paper / model card
=====================  ==========  ===================  ===================================
steps                  1-100       20                   100
guidance_scale (s_T)   1-20        7.5                  7.5
image_guidance (s_I)   1-5         1.5                  1.5 (1.2-1.8 usual)
scheduler              see below   euler_ancestral      euler_ancestral (Euler a)
=====================  ==========  ===================  ===================================

20 Euler-ancestral steps are five times cheaper than the paper's 100 and look close to them; a user
who wants the paper's quality asks for more steps. A higher s_T follows the text more; a higher s_I
stays closer to the input image. With s_T = 1 no guidance is applied at all (s_I is then ignored).
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from tools.base import ANY_SIDE, READY, ProgressCallback, Readiness, ToolCapabilities, step_frames
from tools.errors import EditFailed, ToolUnavailable
from tools.latent_preview import latent_preview
from tools.pix2pix_pipeline import WEIGHTS_HINT, Scheduler, load_pipeline, weights_problem, with_scheduler

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

ENABLE_HINT = f"install the GPU extra (pip install 'dialogpaint[gpu]'), then {WEIGHTS_HINT}"
# A CUDA error other than out-of-memory (illegal address, device-side assert) poisons the CUDA context:
# every later call fails too, so the tool reports itself unavailable instead of failing each edit.
STICKY_CUDA_MARKS = ("CUDA error", "CUBLAS_STATUS", "CUDNN_STATUS")


class InstructPix2PixParams(BaseModel):
    """Edit the image by following a free-form instruction with the InstructPix2Pix diffusion model:
    change, add, remove or replace objects, materials, styles, seasons, weather, time of day or
    backgrounds (e.g. 'turn the dog into a cheetah', 'make it look like winter'). Use it when no
    specific tool fits. The instruction must be imperative and self-contained.
    """

    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(min_length=2, max_length=300, description="E.g. 'turn the sky purple'.")
    steps: int = Field(20, ge=1, le=100, description="Denoising steps; more is slower and finer (paper: 100).")
    guidance_scale: float = Field(
        7.5, ge=1.0, le=20.0, description="s_T: how strongly to follow the instruction (paper: 7.5)."
    )
    image_guidance_scale: float = Field(
        1.5, ge=1.0, le=5.0, description="s_I: how closely to stay with the input image (paper: 1.5)."
    )
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Fixed seed; chosen if absent.")
    scheduler: Scheduler = Field("euler_ancestral", description="The sampler.")


class InstructPix2Pix:
    """InstructPix2Pix on a GPU (or an explicitly allowed CPU), loaded once per process."""

    name: ClassVar[str] = "instruct_pix2pix"
    Params: ClassVar[type[BaseModel]] = InstructPix2PixParams
    capabilities: ClassVar[ToolCapabilities] = ToolCapabilities(
        device="gpu", cost="high", deterministic=False, max_side=ANY_SIDE, generative=True
    )

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str | None = None,
        allow_cpu: bool = False,
        max_side: int = 512,
        preview_steps: int = 4,
        preview_side: int = 256,
    ) -> None:
        """Configure without loading anything.

        Args:
            model: a local directory saved with ``save_pretrained`` or a model id already in the
                Hugging Face cache (nothing is downloaded).
            device: ``cuda``, ``cuda:1``, ``cpu``...; default: CUDA when available.
            allow_cpu: run on the CPU when no GPU exists (slow; off by default).
            max_side: the long side the model works at, a multiple of 64 (512 is what SD 1.5 and
                InstructPix2Pix were trained at); the result is resized back to the input's size.
            preview_steps: the most denoising steps a ``preview`` takes.
            preview_side: the long side a ``preview`` works at and returns (a multiple of 64).
        """
        for label, side in (("max_side", max_side), ("preview_side", preview_side)):
            if side < 64 or side % 64:
                raise ValueError(f"{label} must be a positive multiple of 64, got {side}")
        if preview_steps < 1:
            raise ValueError(f"preview_steps must be at least 1, got {preview_steps}")
        self.model = str(model) if model is not None else None
        self.device = device
        self.allow_cpu = allow_cpu
        self.max_side = max_side
        self.preview_steps = preview_steps
        self.preview_side = preview_side
        self.broken: str | None = None  # set by a sticky CUDA error, cleared by load()

    def unavailable_reason(self) -> str | None:
        """Why this tool cannot run here, or None; cheap (imports nothing heavy, probes no GPU)."""
        if self.broken:
            return self.broken
        missing = [m for m in ("torch", "diffusers", "transformers") if not importlib.util.find_spec(m)]
        if missing:
            return f"instruct_pix2pix needs {', '.join(missing)}: {ENABLE_HINT}"
        if self.model is None:
            return f"instruct_pix2pix has no model configured: {ENABLE_HINT}"
        return weights_problem(self.model)

    def readiness(self) -> Readiness:
        """Whether this tool can run here now, and what would enable it (the reason without the hint)."""
        reason = self.unavailable_reason()
        if reason is None:
            return READY
        for hint in (ENABLE_HINT, WEIGHTS_HINT):
            if reason.endswith(hint):
                return Readiness(False, reason.removesuffix(hint).rstrip(" :;"), hint)
        return Readiness(False, reason)

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """Accept any image the upload limits accept: it is resized to ``max_side`` for the model anyway."""

    def __call__(
        self,
        image: Image.Image,
        params: BaseModel,
        *,
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> Image.Image:
        """Edit ``image`` by ``params.instruction``; broken output or a cancel raises EditFailed."""
        return self.run(image, params, seed=seed, max_side=self.max_side, progress=progress)

    def preview(
        self,
        image: Image.Image,
        params: BaseModel,
        *,
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> Image.Image:
        """A cheap look at what ``__call__`` makes with the same params and seed: at most ``preview_steps``
        steps at ``preview_side``, returned at that small size.
        """
        if not isinstance(params, InstructPix2PixParams):
            raise TypeError(f"instruct_pix2pix expects InstructPix2PixParams, got {type(params).__name__}")
        side = min(self.preview_side, self.max_side)
        small = image.copy()
        small.thumbnail((side, side), Image.Resampling.LANCZOS)
        quick = params.model_copy(update={"steps": min(params.steps, self.preview_steps)})
        return self.run(small, quick, seed=seed, max_side=side, progress=progress)

    def run(
        self, image: Image.Image, params: BaseModel, *, seed: int, max_side: int, progress: ProgressCallback | None
    ) -> Image.Image:
        """Run the pipeline at ``max_side``; a sticky CUDA error marks the tool unavailable."""
        if not isinstance(params, InstructPix2PixParams):
            raise TypeError(f"instruct_pix2pix expects InstructPix2PixParams, got {type(params).__name__}")
        pipe = self.pipeline()
        try:
            return run_pipeline(pipe, image, params, seed=seed, max_side=max_side, progress=progress)
        except RuntimeError as exc:
            if isinstance(exc, EditFailed) or not any(mark in str(exc) for mark in STICKY_CUDA_MARKS):
                raise
            first = str(exc).strip().splitlines()[0]
            self.broken = f"instruct_pix2pix hit '{first}' and is unusable until reloaded (restart the service)"
            raise ToolUnavailable(self.broken) from exc

    def load(self) -> None:
        """Load the model now (at startup, or again after a sticky CUDA error); ToolUnavailable says why not."""
        self.broken = None
        self.pipeline()

    def pipeline(self) -> Any:
        """The loaded pipeline, shared by every tool instance with the same model and device."""
        reason = self.unavailable_reason()
        if reason:
            raise ToolUnavailable(reason)
        assert self.model is not None
        return load_pipeline(self.model, self.device, self.allow_cpu)


def run_pipeline(
    pipe: Any,
    image: Image.Image,
    params: InstructPix2PixParams,
    *,
    seed: int,
    max_side: int,
    progress: ProgressCallback | None = None,
) -> Image.Image:
    """One edit with a loaded pipeline: resize, denoise with progress, check, resize back."""
    import torch

    # 1. The sampler asked for, on a pipeline object of its own (the modules are shared).
    runner = with_scheduler(pipe, params.scheduler)
    # 2. The model's working size: long side = max_side, both sides multiples of 64.
    work = image.resize(working_size(image.size, max_side), Image.Resampling.LANCZOS)
    # A CPU generator gives the same noise on every device, so a seed replays anywhere.
    generator = torch.Generator(device="cpu").manual_seed(seed)
    if progress is not None:
        progress(0, params.steps)  # lets a cancel land before any GPU work
    # 3. Denoise, reporting each step; the progress callback may cancel by raising EditCancelled.
    start = time.perf_counter()
    out_of_memory = False
    try:
        output = runner(
            params.instruction,
            image=work,
            num_inference_steps=params.steps,
            guidance_scale=params.guidance_scale,
            image_guidance_scale=params.image_guidance_scale,
            generator=generator,
            output_type="np",
            callback_on_step_end=step_reporter(progress, params.steps),
        )
    except torch.cuda.OutOfMemoryError:
        out_of_memory = True  # freed below, once the traceback no longer pins the activations
    if out_of_memory:
        torch.cuda.empty_cache()
        raise EditFailed(
            f"out of GPU memory editing at {work.width}x{work.height}; "
            "try a smaller editor max side (DIALOGPAINT_EDITOR_MAX_SIDE) or free the GPU"
        )
    seconds = time.perf_counter() - start
    logger.info("instruct_pix2pix %d steps at %dx%d in %.2fs", params.steps, work.width, work.height, seconds)
    # 4. Refuse broken output, then return at the input's size.
    flags = output.nsfw_content_detected or [False]
    result = checked_frame(output.images[0], flagged=bool(flags[0]))
    return result if result.size == image.size else result.resize(image.size, Image.Resampling.LANCZOS)


def working_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """Scale so the long side is ``max_side`` (aspect kept), then round both sides to multiples of 64."""
    width, height = size
    scale = max_side / max(width, height)
    return (max(64, round(width * scale / 64) * 64), max(64, round(height * scale / 64) * 64))


def step_reporter(progress: ProgressCallback | None, total: int) -> Any:
    """A diffusers ``callback_on_step_end`` that forwards (step, total) to ``progress``, and every
    ``every`` steps before the last a latent-to-RGB picture to it when it takes step pictures.
    """
    frames = step_frames(progress)

    def on_step_end(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        done = step + 1
        if frames is not None and done % frames.every == 0 and done < total:
            frames.frame(done, latent_preview(kwargs["latents"]))
        if progress is not None:
            progress(done, total)
        return kwargs

    return on_step_end


def checked_frame(frame: np.ndarray, *, flagged: bool = False) -> Image.Image:
    """Convert a float HxWx3 frame in [0, 1] to an image, refusing flagged, NaN or all-black output."""
    import numpy as np

    if flagged:
        raise EditFailed("the model's safety checker flagged the result and blanked it; nothing was saved")
    if not np.isfinite(frame).all():
        raise EditFailed("the diffusion model produced NaN values (numerical overflow); nothing was saved")
    if float(frame.max()) < 1.0 / 255.0:
        raise EditFailed("the diffusion model produced an all-black image; nothing was saved")
    return Image.fromarray((frame.clip(0.0, 1.0) * 255.0).round().astype(np.uint8), "RGB")
