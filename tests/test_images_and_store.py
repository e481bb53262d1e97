"""Safe decoding and the content-addressed file store."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from graphs.storage.store import FileImageStore, get_image, put_image
from tests.fakes import MemoryImageStore, gradient
from tools.errors import ImageNotFound, ImageRejected
from tools.images import ALLOWED_FORMATS, IMAGE_TYPES, decode_image, encode_png, to_rgb


def encoded(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_allowed_formats_decode_to_rgb(fmt):
    image = decode_image(encoded(gradient().convert("RGB"), fmt))
    assert image.mode == "RGB" and image.size == (64, 48)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_are_rejected_by_name(fmt):
    with pytest.raises(ImageRejected, match="not a PNG, JPEG or WebP"):
        decode_image(encoded(gradient(), fmt))


def test_pixel_limit_names_the_limit():
    with pytest.raises(ImageRejected, match=r"64x48 = 3,072 pixels; the limit is 1,000"):
        decode_image(encoded(gradient(), "PNG"), max_pixels=1000)


def test_a_decompression_bomb_is_refused_with_its_size_and_the_limit():
    # A 1-bit PNG whose header claims 20000x20000 (Pillow refuses it before returning); nothing is decoded.
    data = encoded(Image.new("1", (8, 8)), "PNG")
    ihdr = b"IHDR" + struct.pack(">II", 20000, 20000) + data[24:29]
    data = data[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + data[33:]
    with pytest.raises(ImageRejected, match=r"20000x20000 = 400,000,000 pixels; the limit is 1,000 pixels"):
        decode_image(data, max_pixels=1000)
    with pytest.raises(ImageRejected, match=rf"400,000,000 pixels; the limit is {2 * Image.MAX_IMAGE_PIXELS:,} pixels"):
        decode_image(data, max_pixels=10**9)  # above Pillow's own limit, which then is the one that counts


def test_byte_limit_and_empty_and_truncated():
    data = encoded(gradient(), "PNG")
    with pytest.raises(ImageRejected, match="the limit is 100 bytes"):
        decode_image(data, max_bytes=100)
    with pytest.raises(ImageRejected, match="empty"):
        decode_image(b"")
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: the stored 64x48 displays as 48x64
    image = decode_image(encoded(gradient(), "JPEG", exif=exif.tobytes()))
    assert image.size == (48, 64)


def test_transparency_is_flattened_onto_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert decode_image(encoded(rgba, "PNG")).getpixel((0, 0)) == (255, 255, 255)


def test_store_is_content_addressed_and_atomic(tmp_path):
    store = FileImageStore(tmp_path)
    key = put_image(store, gradient())
    assert put_image(store, gradient()) == key  # same pixels, same key, stored once
    assert store.path(key).is_file() and not list(tmp_path.rglob(".tmp-*"))
    assert get_image(store, key).tobytes() == gradient().tobytes()
    assert encode_png(gradient()) == store.get(key)


@pytest.mark.parametrize("key", ["../../etc/passwd", "a" * 63, "A" * 64, "", "0" * 64 + "/x"])
def test_malformed_keys_never_touch_the_file_system(tmp_path, key):
    store = FileImageStore(tmp_path)
    with pytest.raises(ImageNotFound):
        store.get(key)
    assert key not in store


def test_unknown_key_is_not_found(tmp_path):
    with pytest.raises(ImageNotFound):
        FileImageStore(tmp_path).get("0" * 64)


def test_the_upload_mime_types_are_those_of_the_decoded_formats():
    Image.init()
    assert tuple(Image.MIME[name] for name in ALLOWED_FORMATS) == IMAGE_TYPES


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_16bit(colour_type: int, samples: tuple[int, ...], size: tuple[int, int] = (3, 2)) -> bytes:
    """A PNG written by hand with 16 bits per sample (Pillow cannot save 16-bit RGB): every pixel ``samples``."""
    row = b"\x00" + struct.pack(f">{len(samples)}H", *samples) * size[0]
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", *size, 16, colour_type, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(row * size[1])) + png_chunk(b"IEND", b"")


@pytest.mark.parametrize(("value", "grey"), [(0, 0), (32768, 128), (65535, 255), (257 * 100 + 128, 100), (1000, 4)])
def test_16_bit_grey_is_scaled_to_8_bits_not_clipped(value, grey):
    assert decode_image(png_16bit(0, (value,))).getpixel((0, 0)) == (grey, grey, grey)  # colour type 0: grey


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I;16L", "I"])
def test_16_bit_modes_handed_over_as_images_are_scaled_too(mode):
    assert to_rgb(Image.new(mode, (2, 2), 32768)).getpixel((0, 0)) == (128, 128, 128)
    store = MemoryImageStore()
    assert get_image(store, put_image(store, Image.new(mode, (2, 2), 32768))).getpixel((1, 1)) == (128, 128, 128)


def test_16_bit_rgb_and_grey_alpha_keep_their_scale():
    assert decode_image(png_16bit(2, (32768, 65535, 0))).getpixel((0, 0)) == (128, 255, 0)  # colour type 2: RGB
    assert decode_image(png_16bit(4, (32768, 65535))).getpixel((0, 0)) == (128, 128, 128)  # 4: grey + alpha
