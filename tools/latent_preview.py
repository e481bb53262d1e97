"""A picture of Stable Diffusion latents without the VAE: the linear latent-to-RGB approximation.

Each of SD 1.x's four latent channels maps to RGB by a fixed 4x3 matrix fitted to the VAE decoder
(the factors ComfyUI ships for its SD 1.5 previews, comfy/latent_formats.py). One small matrix
product per step instead of a VAE decode: the picture is 1/8 of the working size and blurry, which
is what a step preview needs to show the image sharpening.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

SD15_LATENT_RGB = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)


def latent_preview(latents: Any) -> Image.Image:
    """The first latent of a (batch, 4, h, w) tensor as an h x w RGB image."""
    import torch

    factors = torch.tensor(SD15_LATENT_RGB, dtype=torch.float32)
    rgb = latents[0].detach().to("cpu", torch.float32).permute(1, 2, 0) @ factors
    array = ((rgb + 1) / 2).clamp(0, 1).mul(255).round().to(torch.uint8).numpy()
    return Image.fromarray(array, "RGB")
