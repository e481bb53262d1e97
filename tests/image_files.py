"""Real PNG, JPEG and WebP files as Pillow writes them, and a way to make their headers lie about their size."""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

from PIL import Image

from agent.samples import landscape


@cache
def originals() -> dict[str, bytes]:
    """Real files as Pillow writes them: the PNG, JPEG and WebP variants an upload may be."""
    photo = landscape(96, 64)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: exif_transpose runs on these
    variants: dict[str, tuple[Image.Image, str, dict[str, object]]] = {
        "png-rgb": (photo, "PNG", {}),
        "png-rgba": (photo.convert("RGBA"), "PNG", {}),
        "png-palette": (photo.convert("P"), "PNG", {"transparency": 0}),
        "png-16bit-grey": (photo.convert("L").convert("I").point(lambda v: v * 257).convert("I;16"), "PNG", {}),
        "jpeg": (photo, "JPEG", {"exif": exif.tobytes()}),
        "jpeg-progressive": (photo.convert("L"), "JPEG", {"progressive": True}),
        "webp-lossy": (photo, "WEBP", {}),
        "webp-lossless": (photo, "WEBP", {"lossless": True}),
        "webp-alpha": (photo.convert("RGBA"), "WEBP", {"exif": exif.tobytes()}),
    }
    encoded = {}
    for name, (image, fmt, options) in variants.items():
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **options)
        encoded[name] = buffer.getvalue()
    return encoded


def declare_size(data: bytes, width: int, height: int) -> bytes:
    """The file with its header claiming ``width`` x ``height`` (checksums fixed, so the decoder believes it)."""
    out = bytearray(data)
    if data.startswith(b"\x89PNG"):
        ihdr = b"IHDR" + struct.pack(">II", width % 2**32, height % 2**32) + data[24:29]
        out[12:33] = ihdr + struct.pack(">I", zlib.crc32(ihdr))
    elif data.startswith(b"\xff\xd8"):
        sof = next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2))
        out[sof + 5 : sof + 9] = struct.pack(">HH", height % 2**16, width % 2**16)
    elif data[12:16] == b"VP8 ":
        out[26:30] = struct.pack("<HH", width % 2**16, height % 2**16)  # 14 bits of size, 2 of scale
    elif data[12:16] == b"VP8L":
        bits = (width - 1) % 2**14 | ((height - 1) % 2**14) << 14 | (data[24] >> 4) << 28
        out[21:25] = struct.pack("<I", bits)
    elif data[12:16] == b"VP8X":
        out[24:30] = ((width - 1) % 2**24).to_bytes(3, "little") + ((height - 1) % 2**24).to_bytes(3, "little")
    return bytes(out)
