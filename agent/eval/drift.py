"""Drift along a long session: the chained image at every turn against the same path rebuilt from the original.

Chained edits apply each turn to the previous result, so errors accumulate (InstructPix2Pix on
MagicBrush drops from DINO 0.74 after one turn to 0.62 after three). For every turn that moved the
head, the head's recipe chain is rebuilt from the upload: re-rendered (graphs.recipe_plans: the
generative edits merged into one edit of the original, the exact ones re-applied) when the path has
two or more generative edits, else replayed as recorded. The row then records whether a plain replay
reproduces the head bit for bit, the L1 to the original of the chained and the rebuilt image, the L1
between them (the drift), and the CLIP image similarity to the original of both when CLIP is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any

from PIL import Image

from agent.eval.dataset import TurnResult
from agent.eval.image_metrics import l1_distance
from agent.eval.metrics import Row
from graphs.deps import GraphDeps
from graphs.recipe_plans import PlanError, rerender_plan
from graphs.recipes import edits_to, recorded_call, replay_chain, run_recorded
from graphs.revisions import lineage
from graphs.state import Revision
from graphs.storage.store import get_image
from tools.clip import ClipScorer

DRIFT_COLUMNS = (
    "edits_on_path", "replay_matches", "rebuilt_by", "l1_source_rebuilt", "l1_drift",
    "clip_source_similarity_chained", "clip_source_similarity_rebuilt",
)  # fmt: skip


def rebuilt(
    deps: GraphDeps, revisions: Sequence[Revision], head: str, original: Image.Image
) -> tuple[str, Image.Image]:
    """The head rebuilt from the original: ('rerender', image) or ('replay', image)."""
    try:
        plan = rerender_plan(revisions, head, deps.tools)
    except PlanError:
        return "replay", replay_chain(deps.tools, original, edits_to(revisions, head), deps.gpu_slot).image
    image = original
    for recipe in plan.recipes:
        image = run_recorded(recorded_call(deps.tools, recipe), image, deps.gpu_slot)
    return "rerender", image


def add_drift(rows: Sequence[Row], results: Sequence[TurnResult], deps: GraphDeps, clip: ClipScorer | None) -> None:
    """Fill the drift columns of one dialogue's rows (from ``agent.eval.run.dialogue_rows``) in place."""
    cache: dict[str, dict[str, Any]] = {}
    for row, result in zip(rows, results, strict=True):
        row.update(dict.fromkeys(DRIFT_COLUMNS))
        revisions, head = result.reply.revisions, result.reply.head
        row["edits_on_path"] = len(lineage(revisions, head)) - 1
        if not row["image_changed"] or row["edits_on_path"] == 0:
            continue
        if head not in cache:
            cache[head] = drift_of(deps, revisions, head, clip)
        row.update(cache[head])


def drift_of(deps: GraphDeps, revisions: Sequence[Revision], head: str, clip: ClipScorer | None) -> dict[str, Any]:
    """The drift columns of one head revision."""
    path = lineage(revisions, head)
    original, chained = get_image(deps.store, path[0]["image"]), get_image(deps.store, path[-1]["image"])
    replay = replay_chain(deps.tools, original, path[1:], deps.gpu_slot)
    how, image = rebuilt(deps, revisions, head, original)
    found: dict[str, Any] = {
        "replay_matches": replay.matches,
        "rebuilt_by": how,
        "l1_source_rebuilt": round(l1_distance(original, image), 6),
        "l1_drift": round(l1_distance(chained, image), 6),
    }
    if clip is not None:
        found["clip_source_similarity_chained"] = round(clip.image_similarity(original, chained), 6)
        found["clip_source_similarity_rebuilt"] = round(clip.image_similarity(original, image), 6)
    return found


def drift_summary(rows: Sequence[Row]) -> dict[str, Any]:
    """Means of the drift columns overall and by the number of edits on the path (chain length)."""
    scored = [r for r in rows if r.get("replay_matches") is not None]
    by_length: dict[int, list[Row]] = {}
    for row in scored:
        by_length.setdefault(int(row["edits_on_path"]), []).append(row)
    return {
        "turns_scored": len(scored),
        "replay_match_rate": fmean(r["replay_matches"] for r in scored) if scored else None,
        "by_edits_on_path": {
            str(length): {
                "turns": len(group),
                "l1_source_chained": round(fmean(r["l1_source"] for r in group), 6),
                "l1_source_rebuilt": round(fmean(r["l1_source_rebuilt"] for r in group), 6),
                "l1_drift": round(fmean(r["l1_drift"] for r in group), 6),
            }
            for length, group in sorted(by_length.items())
        },
    }
