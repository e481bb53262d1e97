"""The pixelate plug-in: blocks are flat averages, the region is respected, bad requests are refused."""

from __future__ import annotations

import pytest
from dialogpaint_pixelate import Pixelate, PixelateParams
from PIL import Image, ImageStat
from pydantic import ValidationError

from tools.errors import InvalidEditRequest
from tools.registry import validate_tool


def noise(size: tuple[int, int] = (60, 40)) -> Image.Image:
    return Image.merge("RGB", [Image.effect_noise(size, 80) for _ in range(3)])


def run(image: Image.Image, **params: object) -> Image.Image:
    tool = Pixelate()
    parsed = PixelateParams(**params)
    tool.check_inputs(image, parsed)
    return tool(image, parsed, seed=0)


def test_every_block_is_the_average_of_its_pixels():
    image = noise()
    out = run(image, block_size=8)
    assert out.size == image.size and out.mode == "RGB"
    for left, top in [(0, 0), (8, 16), (56, 32)]:  # (56, 32) is a partial block at the corner
        box = (left, top, min(left + 8, 60), min(top + 8, 40))
        block = out.crop(box)
        assert len(block.getcolors()) == 1
        expected = [round(v) for v in ImageStat.Stat(image.crop(box)).mean]
        assert all(abs(a - b) <= 1 for a, b in zip(block.getpixel((0, 0)), expected, strict=True))


def test_only_the_region_changes():
    image = noise()
    out = run(image, block_size=4, left=0.5, top=0.5)
    assert out.crop((0, 0, 60, 20)).tobytes() == image.crop((0, 0, 60, 20)).tobytes()
    assert out.crop((0, 0, 30, 40)).tobytes() == image.crop((0, 0, 30, 40)).tobytes()
    assert out.crop((30, 20, 60, 40)).tobytes() != image.crop((30, 20, 60, 40)).tobytes()


def test_bad_requests_are_refused_not_clamped():
    with pytest.raises(ValidationError, match="the region is empty"):
        PixelateParams(left=0.6, right=0.4)
    with pytest.raises(ValidationError, match="greater than or equal to 2"):
        PixelateParams(block_size=1)
    with pytest.raises(InvalidEditRequest, match=r"block_size 32 is larger than the region's shortest side \(20 px\)"):
        run(noise(), block_size=32, top=0.5)


def test_it_is_a_valid_dialogpaint_tool():
    validate_tool(Pixelate(), "dialogpaint-pixelate")
    assert Pixelate.capabilities.takes_mask and Pixelate.capabilities.deterministic
