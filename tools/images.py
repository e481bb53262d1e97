"""The one safe way images enter dialogpaint, and the canonical PNG encoding they are stored in."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from tools.errors import ImageRejected

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")  # the MIME types of ALLOWED_FORMATS, for uploads
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def decode_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Image.Image:
    """Decode an upload into an RGB image, refusing anything outside the allowlist and limits.

    The pixel count is read from the header and checked before any pixel is decoded; EXIF
    orientation is applied; transparency is flattened onto white.
    """
    if not data:
        raise ImageRejected("the image is empty (0 bytes)")
    if len(data) > max_bytes:
        raise ImageRejected(f"the image is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit below replaces Pillow's global decompression-bomb warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise ImageRejected("not a PNG, JPEG or WebP image") from None
    except Image.DecompressionBombError:
        # Pillow refuses more than 2 * MAX_IMAGE_PIXELS before returning the image, so read its size again.
        raise ImageRejected(
            _too_large(_header_size(data), min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or 0)))
        ) from None
    if image.width * image.height > max_pixels:
        raise ImageRejected(_too_large(image.size, max_pixels))
    try:
        image.load()
    except (OSError, ValueError) as exc:
        raise ImageRejected(f"the {image.format} image is corrupt or truncated ({exc})") from None
    return to_rgb(ImageOps.exif_transpose(image))


def _header_size(data: bytes) -> tuple[int, int]:
    """Width and height read from the header only, as ``Image.open`` does but without its bomb check."""
    Image.init()
    for name in ALLOWED_FORMATS:
        factory, accept = Image.OPEN[name]
        if accept is not None and accept(data[:16]):
            return factory(io.BytesIO(data), "").size
    raise ImageRejected("not a PNG, JPEG or WebP image")


def _too_large(size: tuple[int, int], limit: int) -> str:
    """Why an image of ``size`` is refused."""
    width, height = size
    return f"the image is {width}x{height} = {width * height:,} pixels; the limit is {limit:,} pixels"


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any mode to RGB, flattening transparency onto white."""
    if image.mode == "RGB":
        return image
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
) -> Image.Image:
    """Read and safely decode an image file; a missing file or a directory is an ImageRejected."""
    path = Path(path)
    if not path.is_file():
        raise ImageRejected(f"no image file at {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageRejected(f"{path} is {size:,} bytes; the limit is {max_bytes:,} bytes")
    return decode_image(path.read_bytes(), max_pixels=max_pixels, max_bytes=max_bytes)


def encode_png(image: Image.Image) -> bytes:
    """The canonical PNG bytes of an RGB image: same pixels, same bytes, so the same store key."""
    canonical = to_rgb(image)
    if canonical.info:  # metadata (text chunks, dpi) would change the bytes but not the pixels
        canonical = canonical.copy()
        canonical.info = {}
    buffer = io.BytesIO()
    canonical.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()
