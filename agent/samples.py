"""A sample image drawn offline with Pillow, so the demo needs no download and no data package."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFilter


def landscape(width: int = 640, height: int = 432) -> Image.Image:
    """A small countryside scene: sky, sun, hills, a red house with a tree, and a lake."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = int(height * 0.55)
    for y in range(horizon):  # sky: deep blue at the top to pale near the horizon
        t = y / horizon
        draw.line([(0, y), (width, y)], fill=(int(70 + 120 * t), int(130 + 90 * t), int(210 + 35 * t)))
    draw.ellipse([width * 0.72, height * 0.08, width * 0.84, height * 0.08 + width * 0.12], fill=(255, 225, 120))
    draw.polygon([(0, horizon), (width * 0.3, height * 0.38), (width * 0.62, horizon)], fill=(96, 120, 150))
    draw.polygon([(width * 0.4, horizon), (width * 0.75, height * 0.33), (width, horizon)], fill=(110, 135, 160))
    draw.rectangle([0, horizon, width, height], fill=(86, 150, 70))
    draw.ellipse([-width * 0.1, horizon - 20, width * 0.7, height * 0.8], fill=(104, 170, 80))
    lake = [width * 0.55, height * 0.74, width * 1.05, height * 1.02]
    draw.ellipse(lake, fill=(60, 120, 190))
    x0, y0 = int(width * 0.18), int(height * 0.52)
    draw.rectangle([x0, y0, x0 + 90, y0 + 65], fill=(190, 50, 45))
    draw.polygon([(x0 - 10, y0), (x0 + 45, y0 - 45), (x0 + 100, y0)], fill=(90, 60, 50))
    draw.rectangle([x0 + 35, y0 + 30, x0 + 55, y0 + 65], fill=(70, 45, 35))
    draw.rectangle([x0 + 10, y0 + 15, x0 + 28, y0 + 30], fill=(250, 240, 180))
    draw.rectangle([x0 + 62, y0 + 15, x0 + 80, y0 + 30], fill=(250, 240, 180))
    tx, ty = int(width * 0.42), int(height * 0.5)
    draw.rectangle([tx + 12, ty + 40, tx + 22, ty + 90], fill=(100, 70, 40))
    draw.ellipse([tx - 15, ty - 15, tx + 50, ty + 55], fill=(40, 110, 50))
    return image.filter(ImageFilter.SMOOTH)
