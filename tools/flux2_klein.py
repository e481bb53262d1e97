"""flux2_klein: FLUX.2 [klein] 4B (Apache-2.0) through diffusers' Flux2KleinPipeline, the fast tier.

A step-distilled 4B rectified-flow transformer with a Qwen3-4B text encoder; the input image enters as
reference latents beside the noise. Four steps and no classifier-free guidance, as released (the
distilled pipeline ignores any guidance scale). Settings next to the model card:

=====  =====  ============  ==========
param  range  default here  model card
=====  =====  ============  ==========
steps  1-50   4             4
=====  =====  ============  ==========

Upstream the pipeline crops an input whose sides are not multiples of 16 (``resize_mode="crop"``); the
editor resizes to the working size first, so nothing is cropped and nothing shifts.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image
from pydantic import BaseModel

from tools.diffusion_editor import DiffusionEditor
from tools.editor_params import EditorParams

STEPS = 4


class Flux2KleinParams(EditorParams):
    """Edit the image by a fully specified instruction with FLUX.2 klein, the fastest generative editor:
    change, add, remove or replace objects, colours, styles, seasons, weather or backgrounds, keeping
    everything the instruction does not name (e.g. 'make the sky a sunset orange, keep the house as it is').
    Use it when no specific tool fits.
    """


class Flux2Klein(DiffusionEditor):
    """FLUX.2 klein 4B (distilled): four steps, no CFG."""

    name: ClassVar[str] = "flux2_klein"
    Params: ClassVar[type[BaseModel]] = Flux2KleinParams
    pipeline_class: ClassVar[str] = "Flux2KleinPipeline"
    min_side: ClassVar[int] = 64  # Flux2ImageProcessor.check_image_input refuses shorter sides
    weights_hint: ClassVar[str] = (
        "download them once, e.g. `hf download black-forest-labs/FLUX.2-klein-4B --local-dir DIR`, "
        "then set DIALOGPAINT_FLUX2_KLEIN_PATH=DIR"
    )

    def call_arguments(self, params: Any, work: Image.Image) -> dict[str, Any]:
        """Prompt, steps, and the working size as the output size."""
        steps = params.steps or STEPS
        return {"prompt": params.instruction, "width": work.width, "height": work.height,
                "num_inference_steps": steps, "guidance_scale": 1.0}  # fmt: skip

    def recipe_settings(self, params: BaseModel) -> dict[str, Any]:
        """The shared settings plus the resolved steps."""
        return {**super().recipe_settings(params), "steps_run": getattr(params, "steps", None) or STEPS}
