"""Open-vocabulary object detection: the Detector protocol, a detected box, and overlap suppression.

A detector answers "where in this image are the things these words name?". The graph asks it about
the objects an edit instruction names, so that "change the cat to a tiger" on a photo of two cats
becomes a question instead of a guess (tools/owlv2.py is the transformers implementation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PIL import Image

DEFAULT_DETECTOR_THRESHOLD = 0.2  # OWLv2 scores are sigmoids; 0.1-0.3 is the range its examples use


@dataclass(frozen=True)
class Detection:
    """One object found: the label it answers, the detector's score and its box in image pixels."""

    label: str
    score: float  # 0..1
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the image given to the detector

    @property
    def center(self) -> tuple[float, float]:
        """The centre of the box, (x, y)."""
        x0, y0, x1, y1 = self.box
        return (x0 + x1) / 2, (y0 + y1) / 2

    @property
    def area(self) -> float:
        """The box's area in square pixels (0 for a degenerate box)."""
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


@runtime_checkable
class Detector(Protocol):
    """Finds the objects that text labels name; implementations keep their own score threshold."""

    def detect(self, image: Image.Image, labels: Sequence[str]) -> list[Detection]:
        """Every object of ``labels`` found in ``image`` above the threshold, one Detection per object.

        Raises:
            ToolUnavailable: the detector cannot run here (missing package or weights).
        """


def overlap(a: Detection, b: Detection) -> float:
    """Intersection over union of two boxes."""
    x0, y0 = max(a.box[0], b.box[0]), max(a.box[1], b.box[1])
    x1, y1 = min(a.box[2], b.box[2]), min(a.box[3], b.box[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def suppress_overlaps(found: Sequence[Detection], max_overlap: float = 0.5) -> list[Detection]:
    """Greedy non-maximum suppression per label: of boxes overlapping more than ``max_overlap`` (IoU),
    keep the best scored. Detectors that score every image patch (OWLv2) report one object many times.
    """
    kept: list[Detection] = []
    for candidate in sorted(found, key=lambda d: d.score, reverse=True):
        same = (k for k in kept if k.label == candidate.label)
        if all(overlap(candidate, k) <= max_overlap for k in same):
            kept.append(candidate)
    return kept
