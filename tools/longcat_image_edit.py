"""longcat_image_edit: LongCat-Image-Edit (Apache-2.0) through diffusers' LongCatImageEditPipeline.

A 6B rectified-flow transformer with a Qwen2.5-VL text encoder that sees the input image at half size.
The pipeline works at about one megapixel whatever ``max_side`` says (it takes no height or width): the
editor resizes the input to exactly the size the pipeline computes, so its own resize changes nothing,
and restores the input's size after. Settings next to the model card:

==============  =====  ==========================  ==============================
param           range  default here                model card
==============  =====  ==========================  ==============================
steps           1-100  50 (8 with Turbo weights)   50; Turbo: 8
guidance_scale  1-10   4.5 (1.0 with Turbo)        4.5; Turbo: 1.0
==============  =====  ==========================  ==============================

Turbo is a separately released distilled checkpoint: point the path at it and set the turbo setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from PIL import Image
from pydantic import BaseModel, Field

from tools.diffusion_editor import DiffusionEditor
from tools.editor_params import EditorParams


class LongCatImageEditParams(EditorParams):
    """Edit the image by a fully specified instruction with LongCat-Image-Edit: change, add, remove or
    replace objects, text in the image, styles, materials or backgrounds, keeping people and everything
    the instruction does not name (e.g. 'turn the cat into a tiger, keep the sofa and the room unchanged').
    Use it when no specific tool fits.
    """

    guidance_scale: float | None = Field(
        None, ge=1.0, le=10.0, description="How strongly to follow the prompt; absent: 4.5 (1.0 with Turbo)."
    )


class LongCatImageEdit(DiffusionEditor):
    """LongCat-Image-Edit, or its Turbo distillation (eight steps, no CFG)."""

    name: ClassVar[str] = "longcat_image_edit"
    Params: ClassVar[type[BaseModel]] = LongCatImageEditParams
    pipeline_class: ClassVar[str] = "LongCatImageEditPipeline"
    processor_folder: ClassVar[str | None] = "text_processor"
    weights_hint: ClassVar[str] = (
        "download them once, e.g. `hf download meituan-longcat/LongCat-Image-Edit --local-dir DIR` (or the -Turbo "
        "checkpoint, with DIALOGPAINT_LONGCAT_IMAGE_EDIT_TURBO=1), then set DIALOGPAINT_LONGCAT_IMAGE_EDIT_PATH=DIR"
    )

    def __init__(self, model: str | Path | None = None, *, turbo: bool = False, **options: Any) -> None:
        """As DiffusionEditor, plus ``turbo``: the weights are the Turbo checkpoint (8 steps, no CFG)."""
        super().__init__(model, **options)
        self.turbo = turbo

    def defaults(self) -> tuple[int, float]:
        """(steps, guidance_scale) of the configured tier."""
        return (8, 1.0) if self.turbo else (50, 4.5)

    def work_size(self, pipe: Any, size: tuple[int, int]) -> tuple[int, int]:
        """A size the pipeline keeps as it is: about 1 MP, sides rounded up to 16, the input's aspect.

        The pipeline recomputes its size from the aspect of the image it is given, so the size computed
        from the input's aspect is iterated until the pipeline would compute it again from itself.
        """
        from diffusers.pipelines.longcat_image.pipeline_longcat_image_edit import calculate_dimensions

        ratio = size[0] / size[1]
        for _ in range(8):
            width, height = calculate_dimensions(1024 * 1024, ratio)  # type: ignore[no-untyped-call]
            if width / height == ratio:
                break
            ratio = width / height
        return int(width), int(height)

    def call_arguments(self, params: Any, work: Image.Image) -> dict[str, Any]:
        """Prompt, steps and guidance (the pipeline takes no output size: it is the working size)."""
        steps, guidance = self.defaults()
        return {"prompt": params.instruction, "num_inference_steps": params.steps or steps,
                "guidance_scale": params.guidance_scale or guidance}  # fmt: skip

    def recipe_settings(self, params: BaseModel) -> dict[str, Any]:
        """The shared settings plus the tier, the resolved steps and guidance, the fixed working area."""
        steps, guidance = self.defaults()
        resolved = {"steps_run": getattr(params, "steps", None) or steps,
                    "cfg_run": getattr(params, "guidance_scale", None) or guidance}  # fmt: skip
        return {**super().recipe_settings(params), **resolved, "turbo": self.turbo, "working_area": 1024 * 1024}
