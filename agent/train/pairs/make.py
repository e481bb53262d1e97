"""make-pairs stage 2: render N candidates per row, score them with CLIP, keep the best into the folder."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image, ImageOps

from agent.train.pairs.clip_filter import Scores, Thresholds, best, score
from agent.train.pairs.folder import Pair, PairsFolder
from agent.train.pairs.render import EDITOR_DEFAULTS, TEXT_TO_IMAGE_SAMPLER, Sampling, caption_pair, image_pair
from agent.train.pairs.rows import EditRow, PairsError
from tools.clip import ClipScorer

# (rows finished, rows in all, pairs kept so far)
Progress = Callable[[int, int, int], None]


@dataclass(frozen=True)
class PairsPlan:
    """Every setting of a generation run; all of it goes into the manifest."""

    sampling: Sampling
    cross_fractions: tuple[float, ...]
    samples: int  # seeds per row; each seed is rendered at every cross fraction
    keep: int  # pairs kept per row, at most
    seed: int
    thresholds: Thresholds
    sd_path: str | None
    editor_path: str | None
    clip_path: str

    def settings(self) -> dict[str, Any]:
        """The plan as JSON-ready data."""
        data = asdict(self)
        data["thresholds"] = self.thresholds.model_dump()
        data["cross_fractions"] = list(self.cross_fractions)
        data["text_to_image_sampler"] = TEXT_TO_IMAGE_SAMPLER
        data["editor_defaults"] = EDITOR_DEFAULTS
        return data


@dataclass(frozen=True)
class Renderers:
    """The loaded models: Stable Diffusion for caption rows, the editor for image rows (either may be absent)."""

    text_to_image: Any
    editor: Any
    clip: ClipScorer


def candidate_seed(base: int, row: str, sample: int) -> int:
    """A seed per (run seed, row, sample): the same run renders the same candidates, whatever the row order."""
    digest = hashlib.sha256(f"{base}:{row}:{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def candidates(row: EditRow, plan: PairsPlan, models: Renderers) -> list[tuple[Scores, Pair]]:
    """Every candidate pair of one row with its CLIP scores."""
    from tools.images import read_image_file

    found = []
    source = None
    if row.image is not None:
        # A centre crop to the square SD trains at, as the training loop crops anyway; no distortion.
        side = plan.sampling.resolution
        source = ImageOps.fit(read_image_file(row.image), (side, side), Image.Resampling.LANCZOS)
    for sample in range(plan.samples):
        seed = candidate_seed(plan.seed, row.key, sample)
        renders: list[tuple[float | None, Image.Image, Image.Image]]
        if source is not None:
            renders = [
                (None, source, image_pair(models.editor, source, row.instruction, seed=seed, sampling=plan.sampling))
            ]
        else:
            renders = [
                (fraction, *caption_pair(models.text_to_image, row.caption, row.edited_caption, seed=seed,
                                         cross_fraction=fraction, sampling=plan.sampling))
                for fraction in plan.cross_fractions
            ]  # fmt: skip
        for fraction, before, after in renders:
            scores = score(models.clip, before, after, row.caption, row.edited_caption)
            record = {
                "edit_prompt": row.instruction, "caption": row.caption, "edited_caption": row.edited_caption,
                "seed": seed, "cross_fraction": fraction, **{f"clip_{k}": v for k, v in asdict(scores).items()},
            }  # fmt: skip
            found.append((scores, Pair(before, after, record)))
    return found


def make_pairs(
    rows: list[EditRow], folder: PairsFolder, plan: PairsPlan, models: Renderers, progress: Progress | None = None
) -> tuple[int, int]:
    """Render and filter every row not yet done; return (rows rendered now, pairs kept now)."""
    todo = [row for row in rows if row.key not in folder.done]
    if any(row.image is None for row in todo) and models.text_to_image is None:
        raise PairsError("caption rows need a Stable Diffusion pipeline: pass --sd-path DIR")
    if any(row.image is not None for row in todo) and models.editor is None:
        raise PairsError("image rows need the editor's weights: pass --model-path DIR")
    kept = 0
    for number, row in enumerate(todo, start=1):
        found = candidates(row, plan, models)
        chosen = [pair for _, pair in best(found, plan.thresholds, plan.keep)]
        folder.add(row.key, chosen, candidates=len(found))
        kept += len(chosen)
        if progress is not None:
            progress(number + len(rows) - len(todo), len(rows), kept)
    return len(todo), kept
