"""The self-check's scorer: the eval harness's CLIP similarities, with the weights loaded on first use.

Only the instruction is known at edit time, so the text direction is from a neutral caption to that
caption with the instruction applied (``caption_after``, as the eval harness scores a turn).
"""

from __future__ import annotations

import threading
from pathlib import Path

from PIL import Image

from agent.eval.image_metrics import ClipScorer, caption_after, load_clip
from agent.settings import Settings
from graphs.selfcheck import SelfCheck

NEUTRAL_CAPTION = "a photo"


class ClipSimilarities:
    """(input, edited, instruction) -> (CLIP image similarity, CLIP directional similarity)."""

    def __init__(self, path: str | Path, device: str = "cpu") -> None:
        self.path, self.device = path, device
        self.scorer: ClipScorer | None = None
        self.lock = threading.Lock()

    def __call__(self, source: Image.Image, edited: Image.Image, instruction: str) -> tuple[float, float]:
        """Both similarities of one edit, from one pass of the image tower."""
        with self.lock:  # load once; CLIP modules are not re-entrant across threads anyway
            if self.scorer is None:
                self.scorer = load_clip(self.path, self.device)
            after = caption_after(NEUTRAL_CAPTION, [instruction])
            return self.scorer.similarities(source, edited, NEUTRAL_CAPTION, after)


def self_check(settings: Settings) -> SelfCheck | None:
    """The self-check the settings describe: on with local CLIP weights (``clip_path``), off without."""
    if settings.clip_path is None or not settings.self_check:
        return None
    return SelfCheck(
        score=ClipSimilarities(settings.clip_path),
        min_image_similarity=settings.self_check_min_image_similarity,
        min_directional_similarity=settings.self_check_min_directional_similarity,
        retries=settings.self_check_retries,
        guidance_step=settings.self_check_guidance_step,
    )
