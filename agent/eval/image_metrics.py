"""Image metrics of an eval run: L1 preservation always; the CLIP similarities come from tools.clip."""

from __future__ import annotations

from statistics import fmean

from PIL import Image, ImageChops, ImageStat


def l1_distance(reference: Image.Image, other: Image.Image) -> float:
    """Mean absolute RGB difference in [0, 1]; ``other`` is resized to the reference's size if needed.

    Geometry edits (crop, resize, rotate) change the size; resizing keeps the metric defined and
    honest: a crop then shows up as a large change, which it is.
    """
    reference, other = reference.convert("RGB"), other.convert("RGB")
    if other.size != reference.size:
        other = other.resize(reference.size, Image.Resampling.BILINEAR)
    return fmean(ImageStat.Stat(ImageChops.difference(reference, other)).mean) / 255
