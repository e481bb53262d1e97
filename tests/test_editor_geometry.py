"""Geometry of the new editors: the input's exact size back for every aspect, working sizes, shift, unchanged pixels.

On the tiny pipelines (tests/tiny_editors.py) the mechanics; the models' own shift is the GPU benchmark's number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageFilter

from tests.fakes import gradient
from tests.tiny_editors import EDITORS, NO_CFG, PHOTO, editor
from tools.edit_geometry import composite_unchanged, shift_between, snapped_size

pytest.importorskip("diffusers", reason="the gpu extra (diffusers, transformers, torch) is not installed")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name", EDITORS)
@pytest.mark.parametrize("size", [(150, 97), (61, 200), (128, 128)])
def test_output_size_equals_input_size_for_every_aspect(name, size, editor_dirs, monkeypatch):
    import diffusers

    tool = editor(name, editor_dirs)
    seen: list[tuple[tuple[int, int], tuple[int, int]]] = []
    pipeline = getattr(diffusers, tool.pipeline_class)
    original = pipeline.__call__

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        output = original(self, *args, **kwargs)
        frame = output.images[0]
        seen.append((kwargs["image"].size, (frame.shape[1], frame.shape[0])))
        return output

    monkeypatch.setattr(pipeline, "__call__", spy)
    params = tool.Params(instruction="make it look like winter", steps=1, **NO_CFG.get(name, {}))
    result = tool(gradient(size), params, seed=1)
    assert result.size == size
    ((sent, returned),) = seen
    # The pipeline got the working size and returned exactly it: nothing cropped, nothing rescaled inside.
    assert sent == returned == tool.work_size(tool.pipeline(), size)
    assert abs(sent[0] / sent[1] - size[0] / size[1]) < 0.25 * size[0] / size[1]


@pytest.mark.parametrize(
    ("size", "area", "multiple", "expected", "min_side"),
    [((150, 97), 96**2, 16, (112, 80), 0), ((1024, 768), 1024**2, 16, (1184, 880), 0),
     ((61, 200), 96**2, 16, (48, 176), 0), ((4000, 30), 1024**2, 16, (11824, 96), 0),
     ((64, 64), 96**2, 16, (96, 96), 0), ((61, 200), 96**2, 16, (64, 208), 64)],
)  # fmt: skip
def test_snapped_size_keeps_the_area_and_aspect_in_multiples(size, area, multiple, expected, min_side):
    assert snapped_size(size, area, multiple, min_side) == expected
    assert all(side % multiple == 0 for side in expected)


def textured(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(noise).filter(ImageFilter.GaussianBlur(2))


def test_shift_between_measures_a_known_shift_and_none_for_the_same_image():
    scene = textured((300, 200))
    reference = scene.crop((10, 10, 160, 107))
    moved = scene.crop((6, 13, 156, 110))  # the content moved 4 px right and 3 px up
    assert shift_between(reference, reference) == pytest.approx((0.0, 0.0), abs=1e-6)
    assert shift_between(reference, moved) == pytest.approx((4.0, -3.0), abs=0.05)
    assert shift_between(reference, ImageChops.offset(reference, -2, 5)) == pytest.approx((-2.0, 5.0), abs=0.05)


@pytest.mark.parametrize("name", EDITORS)
def test_the_geometry_round_trip_does_not_shift_the_unchanged_region(name, editor_dirs):
    # What the editor does around the model (resize to the working size, resize back) must leave an
    # unchanged region where it was; the model's own shift is measured on a GPU with real weights.
    tool = editor(name, editor_dirs)
    image = textured(PHOTO, seed=3)
    work = image.resize(tool.work_size(tool.pipeline(), image.size), Image.Resampling.LANCZOS)
    restored = work.resize(image.size, Image.Resampling.LANCZOS)
    dx, dy = shift_between(image, restored)
    assert abs(dx) < 0.1 and abs(dy) < 0.1


def test_keep_unchanged_copies_back_only_the_pixels_the_edit_left_alone():
    original = gradient(PHOTO)
    edited = original.copy()
    edited.paste((255, 0, 0), (20, 20, 60, 50))  # the edit
    noisy = Image.fromarray(np.clip(np.asarray(edited, np.int16) + 3, 0, 255).astype(np.uint8))  # model drift
    kept = composite_unchanged(original, noisy, threshold=8)
    assert kept.getpixel((100, 80)) == original.getpixel((100, 80))  # drift outside the edit is undone
    assert kept.getpixel((40, 35)) == noisy.getpixel((40, 35))  # the edit itself stays
    assert composite_unchanged(original, noisy, threshold=0) is noisy


def test_keep_unchanged_reaches_the_result(editor_dirs):
    tool = editor("flux2_klein", editor_dirs)
    plain = tool(gradient(PHOTO), tool.Params(instruction="make it snowy", steps=1), seed=2)
    kept = tool(gradient(PHOTO), tool.Params(instruction="make it snowy", steps=1, keep_unchanged=64), seed=2)
    changed = np.abs(np.asarray(plain, np.int16) - np.asarray(gradient(PHOTO), np.int16)).max(axis=2) < 64
    assert not np.array_equal(np.asarray(plain), np.asarray(kept)) and changed.any()
