"""The editor's parts for training: load from a pipeline folder, widen the UNet's input, save the result.

A text-to-image checkpoint has a 4-channel ``conv_in``; InstructPix2Pix concatenates the input
image's latents to the noisy latents, so it needs 8. As in diffusers' train_instruct_pix2pix.py the
new input channels start at zero, so the widened UNet first behaves exactly like the original one.
An InstructPix2Pix checkpoint already has 8 and is fine-tuned as it is.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.train.editor.data import FinetuneError

EDITOR_CHANNELS = 8
TEXT_TO_IMAGE_CHANNELS = 4


@dataclass
class EditorParts:
    """The models and scheduler one training run needs."""

    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    noise_scheduler: Any


def load_parts(base: Path) -> EditorParts:
    """The parts of a local diffusers pipeline folder (Stable Diffusion or InstructPix2Pix); nothing downloaded."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    if not (base / "model_index.json").is_file():
        raise FinetuneError(f"{base} is not a diffusers pipeline folder (no model_index.json); pass --base DIR")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*steps_offset.*", category=FutureWarning)
        parts = EditorParts(
            unet=UNet2DConditionModel.from_pretrained(base, subfolder="unet", local_files_only=True),  # type: ignore[no-untyped-call]
            vae=AutoencoderKL.from_pretrained(base, subfolder="vae", local_files_only=True),  # type: ignore[no-untyped-call]
            text_encoder=CLIPTextModel.from_pretrained(base, subfolder="text_encoder", local_files_only=True),
            tokenizer=CLIPTokenizer.from_pretrained(base, subfolder="tokenizer", local_files_only=True),
            noise_scheduler=DDPMScheduler.from_pretrained(base, subfolder="scheduler", local_files_only=True),  # type: ignore[no-untyped-call]
        )
    channels = parts.unet.config.in_channels
    if channels == TEXT_TO_IMAGE_CHANNELS:
        widen_conv_in(parts.unet)
    elif channels != EDITOR_CHANNELS:
        raise FinetuneError(f"{base}'s UNet takes {channels} input channels; expected 4 (text-to-image) or 8 (IP2P)")
    return parts


def widen_conv_in(unet: Any) -> None:
    """Give the UNet 8 input channels: the first 4 keep their weights, the other 4 start at zero."""
    import torch

    old = unet.conv_in
    new: Any = torch.nn.Conv2d(EDITOR_CHANNELS, old.out_channels, old.kernel_size, old.stride, old.padding)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[:, :TEXT_TO_IMAGE_CHANNELS].copy_(old.weight)
        new.bias.copy_(old.bias)
    unet.conv_in = new
    unet.register_to_config(in_channels=EDITOR_CHANNELS)


def save_pipeline(parts: EditorParts, unet: Any, out: Path) -> None:
    """Write an InstructPix2Pix pipeline folder (Euler-ancestral sampler, no safety checker) that the tool loads."""
    from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionInstructPix2PixPipeline

    pipe: Any = StableDiffusionInstructPix2PixPipeline(  # type: ignore[no-untyped-call]
        vae=parts.vae, text_encoder=parts.text_encoder, tokenizer=parts.tokenizer, unet=unet,
        scheduler=EulerAncestralDiscreteScheduler.from_config(parts.noise_scheduler.config),  # type: ignore[no-untyped-call]
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    pipe.save_pretrained(out)
