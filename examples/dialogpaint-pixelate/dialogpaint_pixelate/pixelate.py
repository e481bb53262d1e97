"""Pixelate: average the image, or a rectangle of it, into square blocks of one colour."""

from __future__ import annotations

from typing import ClassVar, Self, cast

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.base import PillowTool, ToolCapabilities
from tools.errors import InvalidEditRequest


class PixelateParams(BaseModel):
    """Pixelate the image, or one rectangle of it (a face, a number plate), into square blocks of
    one colour ('pixelate the image', 'blur out the face with big pixels', 'make it look 8-bit').
    """

    model_config = ConfigDict(extra="forbid")

    block_size: int = Field(12, ge=2, le=256, description="Side of one block in pixels; larger is coarser.")
    left: float = Field(0.0, ge=0.0, lt=1.0, description="Left edge of the region, as a fraction of the width.")
    top: float = Field(0.0, ge=0.0, lt=1.0, description="Top edge of the region, as a fraction of the height.")
    right: float = Field(1.0, gt=0.0, le=1.0, description="Right edge of the region, as a fraction of the width.")
    bottom: float = Field(1.0, gt=0.0, le=1.0, description="Bottom edge, as a fraction of the height.")

    @model_validator(mode="after")
    def _region_has_area(self) -> Self:
        if self.right <= self.left or self.bottom <= self.top:
            raise ValueError(
                f"the region is empty: left {self.left} must be below right {self.right} "
                f"and top {self.top} below bottom {self.bottom}"
            )
        return self


class Pixelate(PillowTool[PixelateParams]):
    """Pixelate by averaging each block (a box-filter downscale) and scaling back without smoothing."""

    name: ClassVar[str] = "pixelate"
    Params: ClassVar[type[BaseModel]] = PixelateParams
    capabilities: ClassVar[ToolCapabilities] = ToolCapabilities(cost="low", takes_mask=True)

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """Refuse a block larger than the region: the result would be one flat rectangle."""
        super().check_inputs(image, params)
        block_size = cast(PixelateParams, params).block_size
        box = region(image, cast(PixelateParams, params))
        shortest = min(box[2] - box[0], box[3] - box[1])
        if block_size > shortest:
            raise InvalidEditRequest(
                f"block_size {block_size} is larger than the region's shortest side ({shortest} px)"
            )

    def apply(self, image: Image.Image, params: PixelateParams) -> Image.Image:
        """Average each block of the region and paste the blocks back."""
        box = region(image, params)
        patch = image.crop(box)
        # reduce() averages each block_size square from the top-left; a partial last block averages what
        # it covers. NEAREST at an integer factor then repeats each average over its block exactly.
        blocks = patch.reduce(params.block_size)
        size = (blocks.width * params.block_size, blocks.height * params.block_size)
        full = blocks.resize(size, Image.Resampling.NEAREST)
        result = image.copy()
        result.paste(full.crop((0, 0, patch.width, patch.height)), box[:2])
        return result


def region(image: Image.Image, params: PixelateParams) -> tuple[int, int, int, int]:
    """The region in pixels, at least one pixel wide and high."""
    left, top = int(params.left * image.width), int(params.top * image.height)
    right = max(left + 1, round(params.right * image.width))
    bottom = max(top + 1, round(params.bottom * image.height))
    return left, top, right, bottom
