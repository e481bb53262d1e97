"""Property test of the decode boundary: mutated real PNG, JPEG and WebP files only ever give ImageRejected."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.image_files import declare_size, originals
from tools.errors import ImageRejected
from tools.images import DEFAULT_MAX_ASPECT_RATIO, DEFAULT_MIN_SIDE, decode_image

FUZZ_MAX_PIXELS = 2**20  # a declared size above it is refused before decoding, so no example is slow
SIDES = st.one_of(
    st.sampled_from([0, 1, 7, 8, 4096, 16383, 16384, 65535, 2**24 - 1, 2**31 - 1]), st.integers(0, 70_000)
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """One real file after byte flips, a truncation, header edits, an insertion or a declared size."""
    data = bytearray(originals()[draw(st.sampled_from(sorted(originals())))])
    kind = draw(st.sampled_from(["flip", "truncate", "header", "insert", "declare"]))
    if kind == "flip":
        for at in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
            data[at] = draw(st.integers(0, 255))
    elif kind == "truncate":
        data = data[: draw(st.integers(1, len(data) - 1))]
    elif kind == "header":
        for at in draw(st.lists(st.integers(0, 63), min_size=1, max_size=4)):
            data[at] = draw(st.integers(0, 255))
    elif kind == "insert":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=64))
    else:
        data = bytearray(declare_size(bytes(data), draw(SIDES), draw(SIDES)))
    return bytes(data)


def decodes_or_is_rejected(data: bytes, **limits: float) -> None:
    """The boundary's contract: an RGB image within the limits, or ImageRejected with a reason."""
    try:
        image = decode_image(data, **limits)  # type: ignore[arg-type]
    except ImageRejected as exc:
        assert str(exc)
        return
    assert image.mode == "RGB" and image.width * image.height <= limits.get("max_pixels", 40_000_000)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns of the corrupt EXIF it skips
@settings(max_examples=1000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_only_ever_give_image_rejected(data: bytes) -> None:
    decodes_or_is_rejected(data, max_pixels=FUZZ_MAX_PIXELS)
    decodes_or_is_rejected(
        data, max_pixels=FUZZ_MAX_PIXELS, min_side=DEFAULT_MIN_SIDE, max_aspect_ratio=DEFAULT_MAX_ASPECT_RATIO
    )


@pytest.mark.parametrize("name", ["webp-lossy", "webp-lossless", "webp-alpha", "png-rgb", "jpeg"])
def test_a_declared_huge_size_is_refused_naming_the_limit(name: str) -> None:
    # 16383x16383 is past Pillow's own bomb limit; the WebP plug-in checks it while reading the header.
    with pytest.raises(ImageRejected, match=r"the limit is [\d,]+ pixels"):
        decode_image(declare_size(originals()[name], 16383, 16383))


@pytest.mark.parametrize("name", ["webp-lossy", "png-rgb", "jpeg-progressive"])
def test_truncated_files_are_rejected_as_corrupt(name: str) -> None:
    data = originals()[name]
    for end in (len(data) // 3, len(data) // 2):
        with pytest.raises(ImageRejected, match="corrupt"):
            decode_image(data[:end])
