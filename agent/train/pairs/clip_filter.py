"""InstructPix2Pix's CLIP filter (Brooks et al., 2023, sec. 3.1.2): four similarities, three thresholds, best of N.

A candidate pair is kept when both images match their captions (CLIP image-caption similarity),
the two images stay alike (image-image similarity) and the change between the images goes the way
the change between the captions goes (directional similarity). Of the survivors, the ones with the
highest directional similarity are kept. The defaults are the InstructPix2Pix generation script's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from tools.clip import ClipScorer

Item = TypeVar("Item")


class Thresholds(BaseModel):
    """The lowest similarity each check accepts (cosines, -1 to 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    caption: float = Field(0.2, ge=-1, le=1, description="Each image against its caption.")
    directional: float = Field(0.2, ge=-1, le=1, description="Image change against caption change.")
    image: float = Field(0.7, ge=-1, le=1, description="Input image against edited image.")


@dataclass(frozen=True)
class Scores:
    """CLIP similarities of one candidate pair."""

    input_caption: float
    edited_caption: float
    directional: float
    image: float

    def passes(self, limits: Thresholds) -> bool:
        """Whether every similarity reaches its threshold."""
        return (
            min(self.input_caption, self.edited_caption) >= limits.caption
            and self.directional >= limits.directional
            and self.image >= limits.image
        )


def score(scorer: ClipScorer, source: Image.Image, edited: Image.Image, caption: str, edited_caption: str) -> Scores:
    """The four similarities, from one embedding of the two images and one of the two captions."""
    import torch

    images = scorer.image_embeddings([source, edited])
    texts = scorer.text_embeddings([caption, edited_caption])
    direction = torch.nn.functional.cosine_similarity(images[1] - images[0], texts[1] - texts[0], dim=0)
    return Scores(
        input_caption=_dot(images[0], texts[0]),
        edited_caption=_dot(images[1], texts[1]),
        directional=float(direction),
        image=_dot(images[0], images[1]),
    )


def best(candidates: Sequence[tuple[Scores, Item]], limits: Thresholds, keep: int) -> list[tuple[Scores, Item]]:
    """The ``keep`` passing candidates with the highest directional similarity, best first."""
    passing = [c for c in candidates if c[0].passes(limits)]
    return sorted(passing, key=lambda c: c[0].directional, reverse=True)[:keep]


def _dot(a: Any, b: Any) -> float:
    return float((a * b).sum())  # unit-length embeddings: the dot product is the cosine
