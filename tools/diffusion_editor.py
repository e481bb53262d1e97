"""The shared run of today's open instruction editors (Qwen-Image-Edit, FLUX.2 klein, LongCat-Image-Edit).

Each editor is a diffusers pipeline that takes the input image and a fully specified instruction; the
subclasses in ``qwen_image_edit``, ``flux2_klein`` and ``longcat_image_edit`` say which pipeline, its
parameters and its call. What they share, written once here:

1. Weights from a local folder only (``from_pretrained(local_files_only=True)``), loaded once per process
   and device, bf16 on CUDA, fp32 on an explicitly allowed CPU; the same "how to enable" lines as
   InstructPix2Pix when a package, the weights or a GPU are missing.
2. Geometry kept (QwenLM/Qwen-Image#229, huggingface/diffusers#11886, #13349): the input is resized, never
   cropped, to the working size (aspect kept, sides snapped to the model's multiple, ``work_size``), the
   pipeline is asked for exactly that size, and its output is resized back to the input's exact size.
   Optionally, pixels the edit left alone are composited back from the input (``keep_unchanged``).
3. The prompt sent is ``params.instruction`` verbatim: the dialogue's explicit instruction T is the
   rewritten, fully specified prompt these models want. ``recipe_settings`` names everything else a
   replay needs (pipeline, dtype, scheduler, LoRA, tier), and the edit node records it in the recipe.
4. A fresh scheduler per edit (two sessions never share timesteps) whose ``step`` reports progress,
   so every pipeline gets the same progress and cancel, with or without ``callback_on_step_end``.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import threading
import time
import warnings
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image
from pydantic import BaseModel

from tools.base import ANY_SIDE, READY, ProgressCallback, Readiness, ToolCapabilities
from tools.edit_geometry import composite_unchanged, snapped_size
from tools.errors import EditFailed, ToolUnavailable
from tools.instruct_pix2pix import STICKY_CUDA_MARKS, checked_frame
from tools.pix2pix_pipeline import CPU_HINT

logger = logging.getLogger(__name__)

GPU_EXTRA = "install the GPU extra (pip install 'dialogpaint[gpu]')"
CAPABILITIES = ToolCapabilities(device="gpu", cost="high", deterministic=False, max_side=ANY_SIDE, generative=True)

_pipelines: dict[tuple[str, str, str, str | None, bool], Any] = {}
_load_lock = threading.Lock()


class DiffusionEditor:
    """An instruction editor on a diffusers pipeline, configured here and loaded on first use."""

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    capabilities: ClassVar[ToolCapabilities] = CAPABILITIES
    pipeline_class: ClassVar[str]  # the diffusers class that loads the folder
    processor_folder: ClassVar[str | None] = None  # a Qwen2-VL processor subfolder, loaded without torchvision
    weights_hint: ClassVar[str]  # how to get the weights and point the setting at them
    min_side: ClassVar[int] = 0  # the shortest working side the pipeline accepts

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str | None = None,
        allow_cpu: bool = False,
        max_side: int = 1024,
        lora: str | Path | None = None,
        fp8: bool = False,
    ) -> None:
        """Configure without loading anything.

        Args:
            model: a local diffusers pipeline folder (``save_pretrained`` or ``hf download --local-dir``).
            device: ``cuda``, ``cuda:1``, ``cpu``...; default: CUDA when available.
            allow_cpu: run on the CPU when no GPU exists (slow; off by default).
            max_side: the working area is ``max_side`` squared pixels (1024: the models' training size).
            lora: a LoRA file fused into the transformer at load (e.g. Qwen-Image-Edit's Lightning LoRA).
            fp8: keep the transformer's weights in FP8 (bf16 compute) on GPUs that support it (sm_89+).
        """
        if max_side < 16:
            raise ValueError(f"max_side must be at least 16, got {max_side}")
        self.model = str(model) if model is not None else None
        self.device = device
        self.allow_cpu = allow_cpu
        self.max_side = max_side
        self.lora = str(lora) if lora is not None else None
        self.fp8 = fp8
        self.broken: str | None = None  # set by a sticky CUDA error, cleared by load()

    def unavailable_reason(self) -> str | None:
        """Why this editor cannot run here, or None; cheap (imports nothing heavy, probes no GPU)."""
        found = self.readiness()
        return None if found.ready else found.explain()

    def readiness(self) -> Readiness:
        """Whether this editor can run here now; when not, why and what would enable it (kept apart)."""
        if self.broken:
            return Readiness(False, self.broken, f"reload {self.name} (restart the process)")
        missing = [m for m in ("torch", "diffusers", "transformers") if not importlib.util.find_spec(m)]
        if missing:
            return Readiness(False, f"{self.name} needs {', '.join(missing)}", f"{GPU_EXTRA}, then {self.weights_hint}")
        if self.model is None:
            return Readiness(False, f"{self.name} has no weights configured", f"{GPU_EXTRA}, then {self.weights_hint}")
        path = Path(self.model).expanduser()
        if not path.is_dir():
            return Readiness(
                False, f"no {self.name} weights at {path} (nothing is downloaded at run time)", self.weights_hint
            )
        if not (path / "model_index.json").is_file():
            return Readiness(
                False, f"{path} has no model_index.json, so it is not a diffusers pipeline folder", self.weights_hint
            )
        if self.lora is not None and not Path(self.lora).expanduser().is_file():
            return Readiness(False, f"{self.name}: no LoRA file at {self.lora}", self.weights_hint)
        return READY

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """Accept any image the upload limits accept: it is resized to the working size anyway."""

    def load(self) -> None:
        """Load the pipeline now (at startup, or again after a sticky CUDA error); ToolUnavailable says why not."""
        self.broken = None
        self.pipeline()

    def pipeline(self) -> Any:
        """The loaded pipeline, shared by every editor with the same weights, device and options."""
        reason = self.unavailable_reason()
        if reason:
            raise ToolUnavailable(reason)
        assert self.model is not None
        target = self.resolve_device()
        key = (self.pipeline_class, self.model, target, self.lora, self.fp8)
        with _load_lock:
            if key not in _pipelines:
                start = time.perf_counter()
                _pipelines[key] = self.prepare(self.open(target), target)
                logger.info("loaded %s %s on %s in %.1fs", self.name, self.model, target, time.perf_counter() - start)
            return _pipelines[key]

    def resolve_device(self) -> str:
        """The torch device: the one asked for, else CUDA; the CPU only when allowed."""
        import torch

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        why = f"{self.name} was asked to run on {device!r}" if self.device else f"{self.name} found no CUDA GPU"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ToolUnavailable(f"{why}, but torch sees no CUDA GPU (torch {torch.__version__}); {CPU_HINT}")
        if device == "cpu" and not self.allow_cpu:
            raise ToolUnavailable(f"{why} (torch {torch.__version__}); {CPU_HINT}")
        return device

    def open(self, target: str) -> Any:
        """``from_pretrained`` from local files only; an incomplete folder is a ToolUnavailable."""
        import diffusers
        import torch

        from tools.qwen_vl_processor import load_processor

        folder = Path(str(self.model)).expanduser()
        dtype = torch.bfloat16 if target.startswith("cuda") else torch.float32
        try:
            extra = (
                {self.processor_folder: load_processor(folder / self.processor_folder)} if self.processor_folder else {}
            )
            with warnings.catch_warnings():
                # diffusers renamed torch_dtype to dtype after the releases the gpu extra allows.
                warnings.filterwarnings("ignore", message="`torch_dtype` is deprecated", category=FutureWarning)
                return getattr(diffusers, self.pipeline_class).from_pretrained(
                    str(folder), torch_dtype=dtype, local_files_only=True, **extra
                )
        except (OSError, ValueError) as exc:
            cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ToolUnavailable(
                f"{self.name}: the pipeline folder {folder} is incomplete ({cause}); {self.weights_hint}"
            ) from None

    def prepare(self, pipe: Any, target: str) -> Any:
        """Fuse the LoRA, move to the device, store FP8 weights where the GPU supports it."""
        import torch

        pipe.set_progress_bar_config(disable=True)
        if self.lora is not None:
            pipe.load_lora_weights(str(Path(self.lora).expanduser()))
            pipe.fuse_lora()
            pipe.unload_lora_weights()
        pipe = pipe.to(target)
        if self.uses_fp8(target):
            pipe.transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=torch.bfloat16)
        return pipe

    def uses_fp8(self, target: str) -> bool:
        """Whether the transformer's weights are stored in FP8 on ``target``: asked for, and an sm_89+ GPU."""
        import torch

        return self.fp8 and target.startswith("cuda") and torch.cuda.get_device_capability(target) >= (8, 9)

    def recipe_settings(self, params: BaseModel) -> dict[str, Any]:
        """What a replay needs beyond the params: recorded in the revision's recipe by the edit node."""
        target = self.resolve_device()
        dtype = "float32" if target == "cpu" else "bfloat16" + (", fp8 weights" if self.uses_fp8(target) else "")
        return {
            "prompt": getattr(params, "instruction", ""),  # sent verbatim: the dialogue's explicit T
            "pipeline": self.pipeline_class,
            "scheduler": type(self.pipeline().scheduler).__name__,
            "dtype": dtype,
            "lora": Path(self.lora).name if self.lora else None,
            "working_area": self.max_side**2,
        }

    def work_size(self, pipe: Any, size: tuple[int, int]) -> tuple[int, int]:
        """The size the model works at: about ``max_side``² pixels, sides multiples of the latent patch."""
        return snapped_size(size, self.max_side**2, pipe.vae_scale_factor * 2, self.min_side)

    def call_arguments(self, params: Any, work: Image.Image) -> dict[str, Any]:
        """The pipeline's keyword arguments for one edit, besides image, generator and output type."""
        raise NotImplementedError

    def __call__(
        self, image: Image.Image, params: BaseModel, *, seed: int, progress: ProgressCallback | None = None
    ) -> Image.Image:
        """Edit ``image`` by ``params.instruction``; the result has the input's exact size."""
        if not isinstance(params, self.Params):
            raise TypeError(f"{self.name} expects {self.Params.__name__}, got {type(params).__name__}")
        try:
            return self.run(self.pipeline(), image, params, seed=seed, progress=progress)
        except RuntimeError as exc:  # a CUDA error other than OOM poisons the context: refuse until reloaded
            if isinstance(exc, EditFailed) or not any(mark in str(exc) for mark in STICKY_CUDA_MARKS):
                raise
            first = str(exc).strip().splitlines()[0]
            self.broken = f"{self.name} hit '{first}' and is unusable until reloaded (restart the service)"
            raise ToolUnavailable(self.broken) from exc

    def run(
        self, pipe: Any, image: Image.Image, params: Any, *, seed: int, progress: ProgressCallback | None = None
    ) -> Image.Image:
        """One edit with a loaded pipeline (the benchmark passes its own): the numbered steps below."""
        import torch

        # 1. Resize (never crop) to the working size, so the pipeline neither crops nor rescales it.
        work = image.resize(self.work_size(pipe, image.size), Image.Resampling.LANCZOS)
        arguments = self.call_arguments(params, work)
        runner = with_reporting_scheduler(pipe, progress, arguments["num_inference_steps"])
        # A CPU generator gives the same noise on every device, so a seed replays anywhere.
        generator = torch.Generator(device="cpu").manual_seed(seed)
        if progress is not None:
            progress(0, arguments["num_inference_steps"])  # lets a cancel land before any GPU work
        # 2. Denoise at the working size.
        start = time.perf_counter()
        try:
            output = runner(image=work, generator=generator, output_type="np", **arguments)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise EditFailed(
                f"out of GPU memory at {work.width}x{work.height}; free the GPU or lower max_side"
            ) from None
        logger.info("%s %dx%d in %.2fs", self.name, work.width, work.height, time.perf_counter() - start)
        # 3. Refuse broken output, restore the input's exact size, keep what the edit left alone.
        result = checked_frame(output.images[0]).resize(image.size, Image.Resampling.LANCZOS)
        return composite_unchanged(image.convert("RGB"), result, int(getattr(params, "keep_unchanged", 0)))


def with_reporting_scheduler(pipe: Any, progress: ProgressCallback | None, total: int) -> Any:
    """A pipeline sharing ``pipe``'s modules with a fresh scheduler whose ``step`` reports (step, total)."""
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
    if progress is not None:
        step, done = scheduler.step, [0]

        def reporting_step(*args: Any, **kwargs: Any) -> Any:
            result = step(*args, **kwargs)
            done[0] += 1
            progress(done[0], total)  # may raise EditCancelled: the run stops between steps
            return result

        scheduler.step = reporting_step
    init = inspect.signature(type(pipe).__init__).parameters
    options = {k: pipe.config[k] for k in init if k not in pipe.components and k in pipe.config}
    runner = type(pipe)(**{**pipe.components, "scheduler": scheduler}, **options)
    runner.set_progress_bar_config(disable=True)
    return runner
