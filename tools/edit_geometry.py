"""Geometry of a generative edit: the working size, unchanged pixels copied back, the shift between two images.

Users of today's editors report output shifted or zoomed against the input (QwenLM/Qwen-Image#229) and
sizes or aspects that change (huggingface/diffusers#11886, #13349); ``snapped_size`` keeps the aspect,
``shift_between`` measures what is left, in tests and in bench/bench_gpu_editors.py.
"""

from __future__ import annotations

from PIL import Image, ImageFilter


def snapped_size(size: tuple[int, int], area: int, multiple: int, min_side: int = 0) -> tuple[int, int]:
    """``size`` scaled to about ``area`` pixels, aspect kept, sides rounded to multiples of ``multiple``.

    A very thin image is scaled up further so its short side is at least ``min_side`` (some pipelines
    refuse smaller inputs), at the cost of more pixels than ``area``.
    """
    width, height = size
    scale = max((area / (width * height)) ** 0.5, min_side / min(width, height))
    return (max(multiple, round(width * scale / multiple) * multiple),
            max(multiple, round(height * scale / multiple) * multiple))  # fmt: skip


def composite_unchanged(original: Image.Image, edited: Image.Image, threshold: int) -> Image.Image:
    """``edited`` with every pixel whose (3x3-smoothed) change is below ``threshold`` levels taken from ``original``."""
    if threshold <= 0:
        return edited
    import numpy as np

    delta = np.abs(np.asarray(original, np.int16) - np.asarray(edited, np.int16)).max(axis=2).astype(np.uint8)
    changed = np.asarray(Image.fromarray(delta).filter(ImageFilter.MaxFilter(3))) >= threshold
    mask = Image.fromarray((changed * 255).astype(np.uint8))
    return Image.composite(edited, original, mask)


def shift_between(reference: Image.Image, moved: Image.Image) -> tuple[float, float]:
    """The (dx, dy) in pixels that best maps ``reference`` onto ``moved`` (same size), by phase correlation.

    Sub-pixel by a parabola through the peak and its neighbours; (0, 0) for identical images.
    """
    import numpy as np

    if reference.size != moved.size:
        raise ValueError(f"shift_between needs two images of one size, got {reference.size} and {moved.size}")
    a = np.asarray(reference.convert("L"), np.float64)
    b = np.asarray(moved.convert("L"), np.float64)
    window = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1]))  # no edge wrap-around peak
    cross = np.fft.fft2((b - b.mean()) * window) * np.conj(np.fft.fft2((a - a.mean()) * window))
    surface = np.real(np.fft.ifft2(cross / np.maximum(np.abs(cross), 1e-12)))
    row, col = np.unravel_index(int(np.argmax(surface)), surface.shape)

    def refine(values: tuple[float, float, float]) -> float:
        left, mid, right = values
        denominator = left - 2 * mid + right
        return 0.0 if denominator == 0 else 0.5 * (left - right) / denominator

    h, w = surface.shape
    dy = row + refine((surface[row - 1, col], surface[row, col], surface[(row + 1) % h, col]))
    dx = col + refine((surface[row, col - 1], surface[row, col], surface[row, (col + 1) % w]))
    return (float(dx - w if dx > w / 2 else dx), float(dy - h if dy > h / 2 else dy))
