"""adjust_tone: brightness, contrast, saturation and colour temperature in one CPU tool."""

from __future__ import annotations

from typing import ClassVar, Self

from PIL import Image, ImageEnhance
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.base import PillowTool


class AdjustToneParams(BaseModel):
    """Adjust the tone of the whole image: brightness, contrast, saturation (colour intensity) and
    warmth (colour temperature). Factors of 1.0 and warmth 0 leave that property unchanged; set only
    what the user asked for.
    """

    model_config = ConfigDict(extra="forbid")

    brightness: float = Field(1.0, ge=0.2, le=3.0, description="Below 1 darker, above 1 brighter.")
    contrast: float = Field(1.0, ge=0.2, le=3.0, description="Below 1 flatter, above 1 punchier.")
    saturation: float = Field(1.0, ge=0.0, le=3.0, description="0 removes colour, below 1 muted, above 1 more vivid.")
    warmth: float = Field(0.0, ge=-1.0, le=1.0, description="Negative cooler (bluer), positive warmer (more orange).")

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if (self.brightness, self.contrast, self.saturation, self.warmth) == (1.0, 1.0, 1.0, 0.0):
            raise ValueError("adjust_tone needs at least one property changed from its neutral value")
        return self


class AdjustTone(PillowTool[AdjustToneParams]):
    """Brightness, contrast, saturation and warmth with Pillow's enhancers and a channel LUT."""

    name: ClassVar[str] = "adjust_tone"
    Params: ClassVar[type[BaseModel]] = AdjustToneParams

    def apply(self, image: Image.Image, params: AdjustToneParams) -> Image.Image:
        """Apply each non-neutral adjustment in a fixed order."""
        out = image
        if params.brightness != 1.0:
            out = ImageEnhance.Brightness(out).enhance(params.brightness)
        if params.contrast != 1.0:
            out = ImageEnhance.Contrast(out).enhance(params.contrast)
        if params.saturation != 1.0:
            out = ImageEnhance.Color(out).enhance(params.saturation)
        if params.warmth != 0.0:
            out = shift_temperature(out, params.warmth)
        return out


def shift_temperature(image: Image.Image, warmth: float) -> Image.Image:
    """Scale red up and blue down (warmer) or the reverse (cooler), by up to 30%."""
    red_gain, blue_gain = 1.0 + 0.3 * warmth, 1.0 - 0.3 * warmth
    red, green, blue = image.split()
    red = red.point(lambda v: min(255, round(v * red_gain)))
    blue = blue.point(lambda v: min(255, round(v * blue_gain)))
    return Image.merge("RGB", (red, green, blue))
