"""qwen_image_edit: Qwen-Image-Edit-2511 (Apache-2.0) through diffusers' QwenImageEditPlusPipeline.

A 20B MMDiT conditioned on the input image twice: through the Qwen2.5-VL text encoder (the image at about
384x384 beside the prompt) and through the VAE (the image at about 1024x1024). Settings, next to the model card:

==================  =========  ===========================  ==========================================
param               range      default here                 model card
==================  =========  ===========================  ==========================================
steps               1-100      40 (8 with a Lightning LoRA)  40; Lightning LoRA: 4 or 8
true_cfg_scale      1-10       4.0 (1.0 with Lightning)     4.0; Lightning: 1.0 (no CFG)
negative prompt     -          " "                          " "
==================  =========  ===========================  ==========================================

The Lightning LoRA (lightx2v/Qwen-Image-Edit-2511-Lightning) is a load-time setting: when it is configured
every edit runs the fast tier, so no edit ever runs the base schedule on fused Lightning weights.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image
from pydantic import BaseModel, Field

from tools.diffusion_editor import DiffusionEditor
from tools.editor_params import EditorParams

NEGATIVE_PROMPT = " "  # the model card's negative prompt


class QwenImageEditParams(EditorParams):
    """Edit the image by a fully specified instruction with Qwen-Image-Edit-2511: change, add, remove or
    replace objects, text in the image, styles, materials, lighting or backgrounds, keeping people and
    everything the instruction does not name (e.g. 'replace the red car with a blue bicycle, keep the
    street and the people unchanged'). Use it when no specific tool fits.
    """

    true_cfg_scale: float | None = Field(
        None, ge=1.0, le=10.0, description="How strongly to follow the prompt; absent: 4.0 (1.0 with Lightning)."
    )


class QwenImageEdit(DiffusionEditor):
    """Qwen-Image-Edit-2511, optionally with a Lightning LoRA fused in (the fast tier)."""

    name: ClassVar[str] = "qwen_image_edit"
    Params: ClassVar[type[BaseModel]] = QwenImageEditParams
    pipeline_class: ClassVar[str] = "QwenImageEditPlusPipeline"
    processor_folder: ClassVar[str | None] = "processor"
    weights_hint: ClassVar[str] = (
        "download them once, e.g. `hf download Qwen/Qwen-Image-Edit-2511 --local-dir DIR`, then set "
        "DIALOGPAINT_QWEN_IMAGE_EDIT_PATH=DIR (and for 8 steps DIALOGPAINT_QWEN_IMAGE_EDIT_LORA=a Lightning "
        "LoRA file from lightx2v/Qwen-Image-Edit-2511-Lightning)"
    )

    def defaults(self) -> tuple[int, float]:
        """(steps, true_cfg_scale) of the configured tier."""
        return (8, 1.0) if self.lora else (40, 4.0)

    def call_arguments(self, params: Any, work: Image.Image) -> dict[str, Any]:
        """Prompt, steps, true CFG (with the negative prompt only when CFG is on), the working size as output."""
        steps, cfg = self.defaults()
        cfg = params.true_cfg_scale or cfg
        negative = {"negative_prompt": NEGATIVE_PROMPT} if cfg > 1 else {}
        return {
            "prompt": params.instruction, "width": work.width, "height": work.height,
            "num_inference_steps": params.steps or steps, "true_cfg_scale": cfg, **negative,
        }  # fmt: skip

    def recipe_settings(self, params: BaseModel) -> dict[str, Any]:
        """The shared settings plus the steps and CFG that ran and the negative prompt (with CFG only)."""
        steps, cfg = self.defaults()
        cfg = getattr(params, "true_cfg_scale", None) or cfg
        resolved = {"steps_run": getattr(params, "steps", None) or steps, "cfg_run": cfg,
                    "negative_prompt": NEGATIVE_PROMPT if cfg > 1 else None}  # fmt: skip
        return {**super().recipe_settings(params), **resolved}
