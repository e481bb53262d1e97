"""Filter tools on the CPU: blur, sharpen, vignette and a vintage look."""

from __future__ import annotations

from typing import ClassVar

from PIL import Image, ImageEnhance, ImageFilter
from pydantic import BaseModel, ConfigDict, Field

from tools.base import PillowTool
from tools.colour import sepia_tone


class BlurParams(BaseModel):
    """Blur the whole image (soft focus, out of focus, smooth)."""

    model_config = ConfigDict(extra="forbid")

    radius: float = Field(3.0, ge=0.5, le=50.0, description="Gaussian blur radius in pixels.")


class Blur(PillowTool[BlurParams]):
    """Gaussian blur."""

    name: ClassVar[str] = "blur"
    Params: ClassVar[type[BaseModel]] = BlurParams

    def apply(self, image: Image.Image, params: BlurParams) -> Image.Image:
        """Gaussian blur with the given radius."""
        return image.filter(ImageFilter.GaussianBlur(params.radius))


class SharpenParams(BaseModel):
    """Sharpen the image: crisper edges and fine detail."""

    model_config = ConfigDict(extra="forbid")

    amount: float = Field(1.5, ge=0.1, le=5.0, description="1 is moderate, 3 or more is strong.")


class Sharpen(PillowTool[SharpenParams]):
    """Unsharp mask."""

    name: ClassVar[str] = "sharpen"
    Params: ClassVar[type[BaseModel]] = SharpenParams

    def apply(self, image: Image.Image, params: SharpenParams) -> Image.Image:
        """Unsharp mask with a 2 px radius; amount scales the percentage."""
        percent = round(100 * params.amount)
        return image.filter(ImageFilter.UnsharpMask(radius=2, percent=percent, threshold=2))


class VignetteParams(BaseModel):
    """Darken the corners and edges of the image (a vignette), drawing the eye to the centre."""

    model_config = ConfigDict(extra="forbid")

    strength: float = Field(0.5, gt=0.0, le=1.0, description="How dark the corners get, 0-1.")


class Vignette(PillowTool[VignetteParams]):
    """Multiply by a radial falloff."""

    name: ClassVar[str] = "vignette"
    Params: ClassVar[type[BaseModel]] = VignetteParams

    def apply(self, image: Image.Image, params: VignetteParams) -> Image.Image:
        """Darken toward the corners."""
        return vignette(image, params.strength)


def vignette(image: Image.Image, strength: float) -> Image.Image:
    """Blend toward black through a radial mask that is clear in the centre, dark at the corners."""
    # Pillow's radial gradient is 256x256, black at the centre and white at radius 128; the corners
    # lie at radius ~181, so scale it up slightly before resizing to keep the falloff smooth.
    mask = Image.radial_gradient("L").resize(image.size, Image.Resampling.BILINEAR)
    mask = mask.point(lambda v: min(255, round(v * strength * 0.9)))
    return Image.composite(Image.new("RGB", image.size, "black"), image, mask)


class VintageParams(BaseModel):
    """Give the image a vintage, retro, old-film look: faded, warm sepia tones and dark corners."""

    model_config = ConfigDict(extra="forbid")

    strength: float = Field(0.8, gt=0.0, le=1.0, description="How strong the look is, 0-1.")


class Vintage(PillowTool[VintageParams]):
    """Sepia toning, lifted blacks (fade), lower contrast and a vignette."""

    name: ClassVar[str] = "vintage"
    Params: ClassVar[type[BaseModel]] = VintageParams

    def apply(self, image: Image.Image, params: VintageParams) -> Image.Image:
        """Tone, fade, flatten, vignette: each scaled by strength."""
        s = params.strength
        out = sepia_tone(image, 0.7 * s)
        out = ImageEnhance.Contrast(out).enhance(1.0 - 0.25 * s)
        fade = round(40 * s)  # lift the blacks: 0 maps to `fade`, 255 stays 255
        out = out.point(lambda v: fade + v * (255 - fade) // 255)
        return vignette(out, 0.6 * s)
