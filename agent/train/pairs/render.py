"""Rendering candidate pairs: Stable Diffusion with Prompt-to-Prompt for captions, the editor for real images."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from agent.train.pairs.attention import InjectionSchedule, PromptToPromptProcessor, token_alignment
from agent.train.pairs.rows import PairsError
from tools.instruct_pix2pix import InstructPix2PixParams

TEXT_TO_IMAGE_SAMPLER = "DDIMScheduler, eta 0, no safety checker"
# What image rows get from the editor besides steps and guidance scale: the tool's own defaults.
EDITOR_DEFAULTS = {
    name: InstructPix2PixParams.model_fields[name].default for name in ("image_guidance_scale", "scheduler")
}


@dataclass(frozen=True)
class Sampling:
    """How one candidate is denoised."""

    steps: int
    guidance_scale: float
    resolution: int
    self_fraction: float


def load_text_to_image(path: Path, device: str) -> Any:
    """A local Stable Diffusion (text-to-image) pipeline with a deterministic DDIM sampler, nothing downloaded.

    DDIM with eta 0 adds no noise between steps, so both prompts of a pair follow the same noise
    path (InstructPix2Pix's sampler shared its per-step noise across the batch for the same reason).
    No safety checker: like InstructPix2Pix, filter the captions instead.
    """
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    if not (path / "model_index.json").is_file():
        raise PairsError(f"{path} is not a diffusers pipeline folder (no model_index.json); pass --sd-path DIR")
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`torch_dtype` is deprecated", category=FutureWarning)
        pipe = StableDiffusionPipeline.from_pretrained(  # type: ignore[no-untyped-call]
            path, torch_dtype=dtype, local_files_only=True, safety_checker=None, requires_safety_checker=False
        )
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)  # type: ignore[no-untyped-call]
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def caption_pair(
    pipe: Any, caption: str, edited_caption: str, *, seed: int, cross_fraction: float, sampling: Sampling
) -> tuple[Image.Image, Image.Image]:
    """The images of ``caption`` and ``edited_caption`` from the same noise, attention shared for part of the run."""
    import torch

    # 1. Token alignment of the two prompts; the unconditional pair ("", "") aligns one to one.
    tokens = pipe.tokenizer(
        [caption, edited_caption], padding="max_length", max_length=pipe.tokenizer.model_max_length, truncation=True
    ).input_ids
    mapper, alphas = token_alignment(tokens[0], tokens[1])
    identity = list(range(len(mapper)))
    schedule = InjectionSchedule(sampling.steps, cross_fraction, sampling.self_fraction)
    schedule.mappers = torch.tensor([identity, mapper], device=pipe.device)
    schedule.alphas = torch.tensor([[1.0] * len(identity), alphas], device=pipe.device)
    # 2. One noise for both prompts, drawn on the CPU so a seed gives the same pair on every device.
    side = sampling.resolution // pipe.vae_scale_factor
    shape = (1, pipe.unet.config.in_channels, side, side)
    noise = torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed)).repeat(2, 1, 1, 1)
    # 3. Denoise the pair as one batch through the controlling processor.
    previous = pipe.unet.attn_processors
    pipe.unet.set_attn_processor(PromptToPromptProcessor(schedule))
    try:
        images = pipe(
            [caption, edited_caption],
            height=sampling.resolution,
            width=sampling.resolution,
            num_inference_steps=sampling.steps,
            guidance_scale=sampling.guidance_scale,
            latents=noise.to(device=pipe.device, dtype=pipe.unet.dtype),
            callback_on_step_end=schedule.on_step_end,
        ).images
    finally:
        pipe.unet.set_attn_processor(previous)
    return images[0], images[1]


def image_pair(editor: Any, image: Image.Image, instruction: str, *, seed: int, sampling: Sampling) -> Image.Image:
    """The current editor's result for (image, instruction): the edited side of a pair from a real image."""
    params = InstructPix2PixParams(
        instruction=instruction, steps=sampling.steps, guidance_scale=sampling.guidance_scale, seed=seed
    )
    result: Image.Image = editor(image, params, seed=seed)
    return result
