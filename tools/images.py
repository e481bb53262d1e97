"""The one safe way images enter dialogpaint, and the canonical PNG encoding they are stored in."""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from tools.errors import ImageRejected

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")  # the MIME types of ALLOWED_FORMATS, for uploads
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# Below 8 px a side there is nothing to see or edit (and no whole latent pixel for the diffusion
# editor, whose VAE works in 8x8 blocks); icons start at 16.
DEFAULT_MIN_SIDE = 8
# Wider than banners (728x90 is 8:1), 360-degree panoramas (up to ~10:1) and phone scroll
# screenshots (~1:18); beyond it an image is a strip the editors cannot do anything sensible with.
DEFAULT_MAX_ASPECT_RATIO = 20.0

# What Pillow's decoders raise on malformed input: OSError ("Truncated File Read", "could not create
# decoder object", "image file is truncated"), ValueError, SyntaxError ("broken PNG file"), EOFError,
# struct.error and the lookup, type and arithmetic errors of plug-ins reading garbage headers, plus
# DecompressionBombError for sizes past Pillow's own limit. ImageRejected (a ValueError) is re-raised.
DECODER_ERRORS: tuple[type[Exception], ...] = (
    OSError, ValueError, SyntaxError, EOFError, struct.error, LookupError, TypeError, ArithmeticError,
    Image.DecompressionBombError,
)  # fmt: skip
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # "I": what older Pillows give 16-bit PNGs


def decode_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    min_side: int = 1,
    max_aspect_ratio: float | None = None,
) -> Image.Image:
    """Decode an upload into an RGB image, refusing anything outside the allowlist and limits.

    The size is read from the header and checked (see ``check_size``) before any pixel is decoded;
    EXIF orientation is applied; transparency is flattened onto white. Whatever the bytes, the only
    error is ImageRejected.
    """
    if not data:
        raise ImageRejected("the image is empty (0 bytes)")
    if len(data) > max_bytes:
        raise ImageRejected(f"the image is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    image = _open(data, max_pixels)
    check_size(image.size, max_pixels=max_pixels, min_side=min_side, max_aspect_ratio=max_aspect_ratio)
    try:
        image.load()
        return to_rgb(ImageOps.exif_transpose(image))
    except DECODER_ERRORS as exc:
        raise ImageRejected(f"the {image.format} image is corrupt or truncated ({exc})") from None


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """The image with its header read and no pixel decoded; ImageRejected for anything else."""
    try:
        with warnings.catch_warnings():
            # Our own pixel limit replaces Pillow's global decompression-bomb warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise ImageRejected("not a PNG, JPEG or WebP image") from None
    except Image.DecompressionBombError:
        raise ImageRejected(_bomb(data, max_pixels)) from None
    except DECODER_ERRORS as exc:
        raise ImageRejected(f"the image is corrupt or truncated ({exc})") from None


def _bomb(data: bytes, max_pixels: int) -> str:
    """Why an image Pillow refused as a decompression bomb is refused, with its size where readable."""
    # Pillow refuses more than 2 * MAX_IMAGE_PIXELS before returning the image, so that limit counts too.
    limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or 0))
    try:
        return _too_large(_header_size(data), limit)
    except DECODER_ERRORS:  # the WebP plug-in checks the size while reading the header
        return (
            f"the image declares more than {2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels; the limit is {limit:,} pixels"
        )


def _header_size(data: bytes) -> tuple[int, int]:
    """Width and height read from the header only, as ``Image.open`` does but without its bomb check."""
    Image.init()
    for name in ALLOWED_FORMATS:
        factory, accept = Image.OPEN[name]
        if accept is not None and accept(data[:16]):
            return factory(io.BytesIO(data), "").size
    raise ImageRejected("not a PNG, JPEG or WebP image")


def check_size(
    size: tuple[int, int], *, max_pixels: int, min_side: int = 1, max_aspect_ratio: float | None = None
) -> None:
    """ImageRejected when ``size`` is over the pixel limit, under the shortest side, or too elongated."""
    width, height = size
    if width * height > max_pixels:
        raise ImageRejected(_too_large(size, max_pixels))
    if min(size) < min_side:
        raise ImageRejected(
            f"the image is {width}x{height} pixels; each side must be at least {min_side} pixels (min_image_side)"
        )
    if max_aspect_ratio is not None and max(size) > max_aspect_ratio * min(size):
        raise ImageRejected(
            f"the image is {width}x{height} pixels, {max(size) / min(size):,.1f}:1; the longest side may be at "
            f"most {max_aspect_ratio:g} times the shortest (max_aspect_ratio)"
        )


def _too_large(size: tuple[int, int], limit: int) -> str:
    """Why an image of ``size`` is refused."""
    width, height = size
    return f"the image is {width}x{height} = {width * height:,} pixels; the limit is {limit:,} pixels"


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any mode to RGB, flattening transparency onto white and scaling 16-bit grey to 8 bits."""
    if image.mode == "RGB":
        return image
    if image.mode in SIXTEEN_BIT_MODES:
        # Pillow's own conversion clips 16-bit values (32768 -> 255); scale them, rounded (32768 -> 128).
        # "I" is taken as 16-bit data too: it is what 16-bit decoders give; values outside 0-65535 clip.
        return image.convert("I").point(lambda value: value / 257 + 0.5).convert("L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def read_image_file(
    path: str | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    min_side: int = 1,
    max_aspect_ratio: float | None = None,
) -> Image.Image:
    """Read and safely decode an image file; a missing file or a directory is an ImageRejected."""
    path = Path(path)
    if not path.is_file():
        raise ImageRejected(f"no image file at {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageRejected(f"{path} is {size:,} bytes; the limit is {max_bytes:,} bytes")
    data = path.read_bytes()
    return decode_image(
        data, max_pixels=max_pixels, max_bytes=max_bytes, min_side=min_side, max_aspect_ratio=max_aspect_ratio
    )


def encode_png(image: Image.Image) -> bytes:
    """The canonical PNG bytes of an RGB image: same pixels, same bytes, so the same store key."""
    canonical = to_rgb(image)
    if canonical.info:  # metadata (text chunks, dpi) would change the bytes but not the pixels
        canonical = canonical.copy()
        canonical.info = {}
    buffer = io.BytesIO()
    canonical.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()
