"""Geometry tools on the CPU: rotate, flip, crop by fraction, resize."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.base import PillowTool
from tools.errors import InvalidEditRequest


class RotateParams(BaseModel):
    """Rotate the image by an angle in degrees; positive is counter-clockwise."""

    model_config = ConfigDict(extra="forbid")

    degrees: float = Field(ge=-360.0, le=360.0, description="Positive counter-clockwise, e.g. 90.")
    expand: bool = Field(True, description="Grow the canvas so no corner is cut off.")

    @model_validator(mode="after")
    def _not_a_full_turn(self) -> Self:
        if self.degrees % 360 == 0:
            raise ValueError("a rotation by a multiple of 360 degrees changes nothing")
        return self


class Rotate(PillowTool[RotateParams]):
    """Rotation with bicubic resampling; uncovered areas are filled white."""

    name: ClassVar[str] = "rotate"
    Params: ClassVar[type[BaseModel]] = RotateParams

    def apply(self, image: Image.Image, params: RotateParams) -> Image.Image:
        """Quarter turns are exact transposes; other angles resample."""
        quarter = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180}
        quarter[270] = Image.Transpose.ROTATE_270
        turn = params.degrees % 360
        if turn in quarter and (params.expand or turn == 180):
            return image.transpose(quarter[int(turn)])
        return image.rotate(
            params.degrees,
            resample=Image.Resampling.BICUBIC,
            expand=params.expand,
            fillcolor=(255, 255, 255),
        )


class FlipParams(BaseModel):
    """Flip (mirror) the image horizontally (left-right) or vertically (upside down)."""

    model_config = ConfigDict(extra="forbid")

    direction: Literal["horizontal", "vertical"] = Field(description="Which way to mirror.")


class Flip(PillowTool[FlipParams]):
    """Mirror left-right or top-bottom."""

    name: ClassVar[str] = "flip"
    Params: ClassVar[type[BaseModel]] = FlipParams

    def apply(self, image: Image.Image, params: FlipParams) -> Image.Image:
        """Exact pixel mirror."""
        return ImageOps.mirror(image) if params.direction == "horizontal" else ImageOps.flip(image)


class CropParams(BaseModel):
    """Crop away a fraction of the width or height on each side (left=0.5 keeps the right half; 0.1
    on every side zooms in), and/or to an aspect ratio, centred.
    """

    model_config = ConfigDict(extra="forbid")

    left: float = Field(0.0, ge=0.0, le=0.9, description="Fraction of the width cut from the left.")
    top: float = Field(0.0, ge=0.0, le=0.9, description="Fraction of the height cut from the top.")
    right: float = Field(0.0, ge=0.0, le=0.9, description="Fraction of the width cut on the right.")
    bottom: float = Field(0.0, ge=0.0, le=0.9, description="Fraction of the height cut at the bottom.")
    aspect: str | None = Field(None, pattern=r"^[1-9][0-9]?:[1-9][0-9]?$", description="e.g. 1:1 (square), 16:9")

    @model_validator(mode="after")
    def _leaves_an_image(self) -> Self:
        if self.left + self.right > 0.95 or self.top + self.bottom > 0.95:
            raise ValueError("crop must keep at least 5% of the width and of the height")
        if self.left == self.right == self.top == self.bottom == 0.0 and self.aspect is None:
            raise ValueError("crop needs at least one side with a fraction above 0, or an aspect")
        return self


class Crop(PillowTool[CropParams]):
    """Crop by fractions of the current size."""

    name: ClassVar[str] = "crop"
    Params: ClassVar[type[BaseModel]] = CropParams

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """The crop must leave at least one pixel each way."""
        super().check_inputs(image, params)
        assert isinstance(params, CropParams)
        width, height = crop_box_size(image.size, params)
        if width < 1 or height < 1:
            raise InvalidEditRequest(f"cropping a {image.width}x{image.height} image so leaves nothing")

    def apply(self, image: Image.Image, params: CropParams) -> Image.Image:
        """Cut the requested fractions, rounding to whole pixels."""
        return image.crop(crop_box(image.size, params))


def crop_box(size: tuple[int, int], params: CropParams) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) pixel box the crop keeps: the side fractions, then the aspect, centred."""
    w, h = size
    left, top = round(w * params.left), round(h * params.top)
    right, bottom = w - round(w * params.right), h - round(h * params.bottom)
    if params.aspect is not None:
        aw, ah = (int(n) for n in params.aspect.split(":"))
        width, height = right - left, bottom - top
        if width * ah > height * aw:  # too wide: trim the width
            keep = round(height * aw / ah)
            left += (width - keep) // 2
            right = left + keep
        else:
            keep = round(width * ah / aw)
            top += (height - keep) // 2
            bottom = top + keep
    return left, top, right, bottom


def crop_box_size(size: tuple[int, int], params: CropParams) -> tuple[int, int]:
    """Width and height left after the crop."""
    left, top, right, bottom = crop_box(size, params)
    return right - left, bottom - top


class ResizeParams(BaseModel):
    """Resize (scale) the whole image: by a factor, or to a width and/or height in pixels (the aspect
    ratio is kept when only one is given).
    """

    model_config = ConfigDict(extra="forbid")

    scale: float | None = Field(None, ge=0.05, le=8.0, description="E.g. 0.5 halves each side.")
    width: int | None = Field(None, ge=8, le=8192, description="Target width in pixels.")
    height: int | None = Field(None, ge=8, le=8192, description="Target height in pixels.")

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if self.scale is None and self.width is None and self.height is None:
            raise ValueError("resize needs a scale, a width or a height")
        if self.scale is not None and (self.width is not None or self.height is not None):
            raise ValueError("give either scale or width/height, not both")
        if self.scale == 1.0:
            raise ValueError("a scale of 1 changes nothing")
        return self


class Resize(PillowTool[ResizeParams]):
    """Lanczos resampling to the target size."""

    name: ClassVar[str] = "resize"
    Params: ClassVar[type[BaseModel]] = ResizeParams
    max_output_side: ClassVar[int] = 8192

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """Refuse outputs larger than the limit or smaller than one pixel."""
        super().check_inputs(image, params)
        assert isinstance(params, ResizeParams)
        width, height = target_size(image.size, params)
        if max(width, height) > self.max_output_side:
            raise InvalidEditRequest(
                f"resizing to {width}x{height} exceeds the {self.max_output_side} px limit per side"
            )
        if min(width, height) < 1:
            raise InvalidEditRequest(f"resizing to {width}x{height} leaves no pixels")

    def apply(self, image: Image.Image, params: ResizeParams) -> Image.Image:
        """Resize with Lanczos."""
        return image.resize(target_size(image.size, params), Image.Resampling.LANCZOS)


def target_size(size: tuple[int, int], params: ResizeParams) -> tuple[int, int]:
    """The output size the params ask for, keeping the aspect ratio where one side is free."""
    w, h = size
    if params.scale is not None:
        return round(w * params.scale), round(h * params.scale)
    if params.width is not None and params.height is not None:
        return params.width, params.height
    if params.width is not None:
        return params.width, round(h * params.width / w)
    assert params.height is not None
    return round(w * params.height / h), params.height
