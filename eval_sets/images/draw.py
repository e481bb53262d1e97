"""Draw the small images of eval_sets/images.jsonl with Pillow; rerun to regenerate them byte for byte."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SIZE = (192, 144)


def still_life() -> Image.Image:
    """A red apple and a blue cup on a wooden table against a pale wall."""
    image = Image.new("RGB", SIZE, (232, 226, 210))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 96, 192, 144], fill=(150, 100, 60))
    draw.line([(0, 96), (192, 96)], fill=(110, 70, 40), width=2)
    draw.ellipse([38, 62, 86, 106], fill=(200, 30, 35))
    draw.line([(62, 64), (66, 52)], fill=(80, 50, 20), width=3)
    draw.ellipse([66, 50, 80, 58], fill=(60, 140, 50))
    draw.rectangle([112, 56, 150, 104], fill=(40, 80, 170))
    draw.arc([140, 66, 164, 92], start=-90, end=90, fill=(40, 80, 170), width=5)
    return image.filter(ImageFilter.SMOOTH)


def street() -> Image.Image:
    """A yellow car on a grey road in front of two houses, under a blue sky."""
    image = Image.new("RGB", SIZE, (120, 170, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle([10, 40, 80, 100], fill=(180, 120, 90))
    draw.rectangle([100, 30, 180, 100], fill=(210, 200, 180))
    for x in (20, 50, 112, 148):
        draw.rectangle([x, 55, x + 16, 71], fill=(60, 90, 130))
    draw.rectangle([0, 100, 192, 144], fill=(90, 90, 95))
    draw.line([(0, 124), (192, 124)], fill=(240, 240, 240), width=2)
    draw.rounded_rectangle([56, 100, 140, 124], radius=6, fill=(235, 200, 40))
    draw.polygon([(72, 100), (84, 86), (116, 86), (128, 100)], fill=(220, 185, 35))
    for x in (72, 122):
        draw.ellipse([x - 9, 116, x + 9, 134], fill=(30, 30, 30))
    return image.filter(ImageFilter.SMOOTH)


def portrait() -> Image.Image:
    """A cartoon face with brown hair on a green background."""
    image = Image.new("RGB", SIZE, (110, 170, 120))
    draw = ImageDraw.Draw(image)
    draw.ellipse([56, 14, 136, 90], fill=(100, 60, 30))
    draw.ellipse([64, 28, 128, 112], fill=(240, 200, 170))
    draw.rectangle([60, 110, 132, 144], fill=(180, 40, 90))
    for x in (80, 104):
        draw.ellipse([x, 58, x + 10, 68], fill=(40, 40, 60))
    draw.arc([82, 76, 110, 96], start=20, end=160, fill=(160, 50, 50), width=3)
    return image.filter(ImageFilter.SMOOTH)


def flowers() -> Image.Image:
    """Three orange flowers with green stems in a field under a cloudy sky."""
    image = Image.new("RGB", SIZE, (190, 210, 230))
    draw = ImageDraw.Draw(image)
    draw.ellipse([20, 10, 80, 36], fill=(245, 245, 250))
    draw.rectangle([0, 90, 192, 144], fill=(90, 160, 70))
    for x, top in ((44, 56), (96, 44), (148, 62)):
        draw.line([(x, top), (x, 130)], fill=(40, 110, 40), width=4)
        for dx, dy in ((-10, 0), (10, 0), (0, -10), (0, 10)):
            draw.ellipse([x + dx - 8, top + dy - 8, x + dx + 8, top + dy + 8], fill=(245, 140, 30))
        draw.ellipse([x - 6, top - 6, x + 6, top + 6], fill=(250, 220, 60))
    return image.filter(ImageFilter.SMOOTH)


def main() -> None:
    """Write every image as PNG next to this script."""
    for draw in (still_life, street, portrait, flowers):
        draw().save(HERE / f"{draw.__name__.replace('_', '-')}.png", optimize=True)


if __name__ == "__main__":
    main()
