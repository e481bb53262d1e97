"""Scores of an eval run, computed from its per-turn rows (results.jsonl), so they can be recomputed."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from statistics import fmean
from typing import Any

from agent.eval.dataset import EXPECTS

Row = dict[str, Any]

# A turn is *vague* when the eval set expects a clarifying question for it, and *explicit* when it
# expects an action that can be executed as said (an edit, an undo, a redo). Confirmation answers and
# chat are neither: asking there is a wrong decision, but not an over- or under-clarification.
VAGUE: frozenset[str] = frozenset({"clarify"})
EXPLICIT: frozenset[str] = frozenset({"edit", "undo", "redo"})


def metrics(rows: Sequence[Row]) -> dict[str, Any]:
    """Decision, instruction, cost and image scores of an eval run."""
    total = len(rows)
    hits = [r["keywords_hit"] for r in rows if r["keywords_hit"] is not None]
    steps = [r["steps_exact"] for r in rows if r["steps_exact"] is not None]
    per_action = per_action_scores(rows)
    supported = [row["f1"] for row in per_action.values() if row["support"]]
    latencies = sorted(r["latency_s"] for r in rows)
    return {
        "turns": total,
        "dialogues": len({(r.get("file"), r["dialogue"]) for r in rows}),
        "accuracy": _rate(sum(r["correct"] for r in rows), total),
        "macro_f1": fmean(supported) if supported else None,
        "per_action": per_action,
        "confusion": confusion(rows),
        "instruction_keyword_hit_rate": _rate(sum(hits), len(hits)),
        "undo_steps_exact": _rate(sum(steps), len(steps)),
        "clarification_rate_explicit": clarification_rate(rows, EXPLICIT),
        "clarification_rate_vague": clarification_rate(rows, VAGUE),
        "model_calls_per_turn": fmean(r["model_calls"] for r in rows) if rows else None,
        "failed_edits": sum(failed_edit(r) for r in rows),  # decided, but the tool could not run
        "model_failures": sum(r["error"] is not None and not failed_edit(r) for r in rows),  # no decision made
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "image": image_scores(rows),
    }


def failed_edit(row: Row) -> bool:
    """Whether the turn decided an edit that did not run (an error without one is the dialogue model's)."""
    return row["error"] is not None and "failed" in row.get("actions", ["failed"])  # rows from before "actions"


def per_action_scores(rows: Sequence[Row]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each expected action."""
    scores: dict[str, dict[str, float]] = {}
    for action in EXPECTS:
        tp = sum(r["correct"] and r["expect"] == action for r in rows)
        precision = _rate(tp, sum(r["predicted"] == action for r in rows)) or 0.0
        recall = _rate(tp, sum(r["expect"] == action for r in rows)) or 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        support = sum(r["expect"] == action for r in rows)
        scores[action] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return scores


def confusion(rows: Sequence[Row]) -> dict[str, dict[str, int]]:
    """counts[expected][predicted] over every label (zeros included, so the matrix is square)."""
    labels = [*EXPECTS, *sorted({r["predicted"] for r in rows} - set(EXPECTS))]
    matrix = {e: dict.fromkeys(labels, 0) for e in labels}
    for r in rows:
        matrix[r["expect"]][r["predicted"]] += 1
    return matrix


def clarification_rate(rows: Sequence[Row], expected: frozenset[str]) -> float | None:
    """Share of the turns expecting one of ``expected`` that the agent answered with a question."""
    chosen = [r for r in rows if r["expect"] in expected]
    return _rate(sum(r["predicted"] == "clarify" for r in chosen), len(chosen))


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile of sorted values (no interpolation: it is one observed value)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def image_scores(rows: Sequence[Row]) -> dict[str, Any]:
    """Means of the per-turn image metrics over the turns that changed the image, and of final states."""
    changed = [r for r in rows if r.get("image_changed")]
    finals = {(r.get("file"), r["dialogue"]): r for r in rows}.values()  # the last row of each dialogue
    scores: dict[str, Any] = {
        "turns_changing_image": len(changed),
        "l1_per_turn_mean": _mean(r.get("l1_turn") for r in changed),
        "l1_to_source_final_mean": _mean(r.get("l1_source") for r in finals),
    }
    for key in ("clip_image_similarity", "clip_directional_similarity"):
        scores[f"{key}_mean"] = _mean(r.get(key) for r in changed)
    return scores


def worst_dialogues(rows: Sequence[Row], limit: int = 10) -> list[dict[str, Any]]:
    """Dialogues with the most wrong decisions, keyword misses and undo-step misses, worst first."""
    grouped: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in rows:
        grouped[(r.get("file") or "", r["dialogue"])].append(r)
    ranked: list[dict[str, Any]] = []
    for (file, dialogue), turns in grouped.items():
        misses = [t for t in turns if not t["correct"] or t["keywords_hit"] is False or t["steps_exact"] is False]
        if misses:
            ranked.append({"file": file, "dialogue": dialogue, "errors": len(misses), "turns": turns})
    ranked.sort(key=lambda d: (-d["errors"], d["file"], d["dialogue"]))
    return ranked[:limit]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None
