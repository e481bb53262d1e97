"""Colour tools on the CPU: grayscale, sepia, invert, tint toward a named colour, posterize."""

from __future__ import annotations

from typing import ClassVar

from PIL import Image, ImageColor, ImageOps
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.base import PillowTool


class GrayscaleParams(BaseModel):
    """Make the image black and white (grayscale), removing all colour."""

    model_config = ConfigDict(extra="forbid")


class Grayscale(PillowTool[GrayscaleParams]):
    """Luminance-only copy of the image, kept in RGB."""

    name: ClassVar[str] = "grayscale"
    Params: ClassVar[type[BaseModel]] = GrayscaleParams

    def apply(self, image: Image.Image, params: GrayscaleParams) -> Image.Image:
        """Convert through Pillow's ITU-R 601 luma."""
        return ImageOps.grayscale(image).convert("RGB")


class SepiaParams(BaseModel):
    """Give the image a warm brown sepia tone, like an old photograph."""

    model_config = ConfigDict(extra="forbid")

    strength: float = Field(1.0, gt=0.0, le=1.0, description="1 full sepia, lower blends it in.")


class Sepia(PillowTool[SepiaParams]):
    """Colourise the luminance between dark brown and cream, blended with the original."""

    name: ClassVar[str] = "sepia"
    Params: ClassVar[type[BaseModel]] = SepiaParams

    def apply(self, image: Image.Image, params: SepiaParams) -> Image.Image:
        """Map gray levels onto a brown ramp, then blend by strength."""
        return sepia_tone(image, params.strength)


def sepia_tone(image: Image.Image, strength: float) -> Image.Image:
    """The sepia ramp shared by the sepia tool and the vintage look."""
    toned = ImageOps.colorize(ImageOps.grayscale(image), black="#2e1f10", white="#fff3dc")
    return Image.blend(image, toned, strength)


class InvertParams(BaseModel):
    """Invert the colours of the image, like a photographic negative."""

    model_config = ConfigDict(extra="forbid")


class Invert(PillowTool[InvertParams]):
    """Every channel value v becomes 255 - v."""

    name: ClassVar[str] = "invert"
    Params: ClassVar[type[BaseModel]] = InvertParams

    def apply(self, image: Image.Image, params: InvertParams) -> Image.Image:
        """Invert all three channels."""
        return ImageOps.invert(image)


class TintParams(BaseModel):
    """Tint the whole image toward one colour (a colour cast over everything, e.g. 'make it
    bluish'). To recolour one object instead, use an instruction-following tool.
    """

    model_config = ConfigDict(extra="forbid")

    color: str = Field(description="A CSS colour name such as 'blue' or 'orange', or '#rrggbb'.")
    strength: float = Field(0.35, gt=0.0, le=1.0, description="How strongly to tint, 0-1.")

    @field_validator("color")
    @classmethod
    def _known_colour(cls, value: str) -> str:
        value = value.strip().lower()
        try:
            ImageColor.getrgb(value)
        except ValueError:
            raise ValueError(f"unknown colour {value!r}: use a CSS colour name or #rrggbb") from None
        return value


class Tint(PillowTool[TintParams]):
    """Blend the image with a luminance-preserving colourisation toward the colour."""

    name: ClassVar[str] = "tint"
    Params: ClassVar[type[BaseModel]] = TintParams

    def apply(self, image: Image.Image, params: TintParams) -> Image.Image:
        """Colourise the luminance from black through the colour to white, then blend."""
        rgb = ImageColor.getrgb(params.color)[:3]
        toned = ImageOps.colorize(ImageOps.grayscale(image), black="black", white="white", mid=rgb)
        return Image.blend(image, toned, params.strength)


class PosterizeParams(BaseModel):
    """Posterize the image: reduce it to a few flat colour levels, like a screen print or poster."""

    model_config = ConfigDict(extra="forbid")

    bits: int = Field(3, ge=1, le=7, description="Bits kept per channel: 1 is starkest, 7 subtle.")


class Posterize(PillowTool[PosterizeParams]):
    """Keep only the top bits of each channel."""

    name: ClassVar[str] = "posterize"
    Params: ClassVar[type[BaseModel]] = PosterizeParams

    def apply(self, image: Image.Image, params: PosterizeParams) -> Image.Image:
        """Quantise each channel to 2**bits levels."""
        return ImageOps.posterize(image, params.bits)
