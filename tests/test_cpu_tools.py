"""Each CPU tool changes the pixels the way its name says; params are bounded, never clamped."""

from __future__ import annotations

import pytest
from PIL import Image, ImageStat
from pydantic import ValidationError

from tools import colour, filters, geometry, tone
from tools.errors import InvalidEditRequest, RegistryError
from tools.registry import ToolRegistry, load_registry


def photo() -> Image.Image:
    """Colourful, textured test image: gradients plus a checkerboard."""
    image = Image.new("RGB", (80, 60))
    image.putdata(
        [((x * 3) % 256, (y * 4) % 256, ((x // 8 + y // 8) % 2) * 200 + 30) for y in range(60) for x in range(80)]
    )
    return image


def run(tool, **params):
    return tool(photo(), tool.Params(**params), seed=0)


def mean(image, band=None):
    stat = ImageStat.Stat(image)
    return stat.mean if band is None else stat.mean[band]


def test_grayscale_equalises_channels():
    out = run(colour.Grayscale())
    assert all(r == g == b for r, g, b in out.get_flattened_data())


def test_sepia_is_warm_brown():
    r, g, b = mean(run(colour.Sepia()))
    assert r > g > b


def test_invert_complements_every_pixel():
    assert [tuple(255 - v for v in p) for p in photo().get_flattened_data()] == list(
        run(colour.Invert()).get_flattened_data()
    )


def test_tint_moves_toward_the_colour():
    before, after = mean(photo()), mean(run(colour.Tint(), color="blue", strength=0.5))
    assert after[2] - after[0] > before[2] - before[0]
    with pytest.raises(ValidationError, match="unknown colour"):
        colour.Tint.Params(color="blurple")


def test_posterize_keeps_few_levels():
    out = run(colour.Posterize(), bits=2)
    assert len({p[0] for p in out.get_flattened_data()}) <= 4


def test_tone_adjustments():
    assert mean(run(tone.AdjustTone(), brightness=1.5))[1] > mean(photo())[1]
    assert ImageStat.Stat(run(tone.AdjustTone(), contrast=1.8)).stddev[0] > ImageStat.Stat(photo()).stddev[0]
    warm = mean(run(tone.AdjustTone(), warmth=0.8))
    assert warm[0] > mean(photo())[0] and warm[2] < mean(photo())[2]
    gray = run(tone.AdjustTone(), saturation=0.0)
    assert all(max(p) - min(p) <= 1 for p in gray.get_flattened_data())
    with pytest.raises(ValidationError, match="at least one property"):
        tone.AdjustTone.Params()
    with pytest.raises(ValidationError):
        tone.AdjustTone.Params(brightness=10)  # bounded, never clamped


def edge_energy(image):
    gray = image.convert("L")
    pixels = list(gray.get_flattened_data())
    return sum(abs(pixels[i] - pixels[i + 1]) for i in range(len(pixels) - 1))


def test_blur_and_sharpen_change_edge_energy_in_opposite_directions():
    assert edge_energy(run(filters.Blur(), radius=3)) < edge_energy(photo())
    assert edge_energy(run(filters.Sharpen(), amount=2)) > edge_energy(photo())


def test_vignette_darkens_corners_more_than_centre():
    gray = Image.new("RGB", (80, 60), (200, 200, 200))
    out = filters.Vignette()(gray, filters.Vignette.Params(strength=1.0), seed=0).convert("L")
    assert out.getpixel((40, 30)) > 190 and out.getpixel((0, 0)) < 60


def test_vintage_fades_blacks_and_warms():
    black = Image.new("RGB", (40, 40), (0, 0, 0))
    out = filters.Vintage()(black, filters.Vintage.Params(strength=1.0), seed=0)
    assert out.getpixel((20, 20))[0] > 0  # blacks lifted at the centre
    red, _, blue = mean(run(filters.Vintage()))
    assert red > blue


def test_geometry():
    rotated = run(geometry.Rotate(), degrees=-90)  # clockwise quarter turn
    assert rotated.size == (60, 80) and rotated.getpixel((59, 0)) == photo().getpixel((0, 0))
    flipped = run(geometry.Flip(), direction="horizontal")
    assert flipped.getpixel((0, 5)) == photo().getpixel((79, 5))
    assert run(geometry.Flip(), direction="vertical").getpixel((3, 0)) == photo().getpixel((3, 59))
    cropped = run(geometry.Crop(), left=0.5)
    assert cropped.size == (40, 60) and cropped.getpixel((0, 0)) == photo().getpixel((40, 0))
    assert run(geometry.Resize(), scale=0.5).size == (40, 30)
    assert run(geometry.Resize(), width=160).size == (160, 120)
    with pytest.raises(ValidationError, match="at least 5%"):
        geometry.Crop.Params(left=0.5, right=0.5)
    with pytest.raises(ValidationError, match="changes nothing"):
        geometry.Rotate.Params(degrees=360)
    with pytest.raises(InvalidEditRequest, match="exceeds the 8192 px limit"):
        geometry.Resize().check_inputs(Image.new("RGB", (2000, 10)), geometry.Resize.Params(scale=8))


def test_tools_are_deterministic():
    for tool, params in [(filters.Vintage(), {}), (tone.AdjustTone(), {"warmth": 0.3})]:
        assert run(tool, **params).tobytes() == run(tool, **params).tobytes()


def test_registry_loads_builtins_and_refuses_bad_or_duplicate_tools():
    registry = load_registry(plugins=False)
    assert {"grayscale", "adjust_tone", "instruct_pix2pix", "crop"} <= set(registry)
    with pytest.raises(RegistryError, match="already registered by builtin"):
        ToolRegistry([(colour.Grayscale(), "builtin"), (colour.Grayscale(), "plug-in 'x'")])

    class Bad(colour.Grayscale):
        name = "Bad Name"

    with pytest.raises(RegistryError, match="snake_case"):
        ToolRegistry([(Bad(), "plug-in 'bad'")])

    class Reserved(colour.Grayscale):
        name = "undo"

    with pytest.raises(RegistryError, match="reserved"):
        ToolRegistry([(Reserved(), "plug-in 'r'")])
    assert "blur" not in load_registry(plugins=False, disabled=["blur"])
    with pytest.raises(RegistryError, match="not found: nope"):
        load_registry(plugins=False, enabled=["nope"])
