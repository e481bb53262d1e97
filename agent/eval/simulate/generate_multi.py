"""Goals of several edits for the shipped set: combinations of the CPU catalogue, and EdiVal's multi-turn rows.

Read by ``agent.eval.simulate.generate``. A goal of two or three explicit edits yields four cases:

- ``explicit``: every edit in one message, in order ("rotate it 90 degrees clockwise and make it
  brighter"; three as "A, B and C");
- ``explicit_turns``: the first edit alone; the user states each next one after it is made;
- one dropped-piece opening and one evaluative or indirect opening (alternating by goal), each with
  its rule applied to one edit of the goal (``missing.edit``, the position cycling by goal) and the
  other edits explicit beside it. A complaint ("it's too dark") is a sentence of its own, so an
  opening with one states every edit as a sentence ("Rotate it 90 degrees clockwise. It's too dark.").

CPU goals combine catalogue edits of different tools (``COMBOS``). Generative goals are EdiVal's
rows of 2 and 3 turns (``turns`` column; ``instructions`` holds the turns in order), whose every turn is
a task type the single-edit cases use, each row's image a different one.
"""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Iterator
from typing import Any

from agent.eval.simulate.cases import SimCase
from agent.eval.simulate.user import listing

# Catalogue ids (generate.CATALOGUE) combined into goals of two and three edits, each of different tools.
COMBOS: tuple[tuple[str, ...], ...] = (
    ("rotate-cw", "brighter"), ("flip-h", "contrast-up"), ("crop-left", "grayscale"), ("resize-half", "sharpen"),
    ("rotate-180", "vivid"), ("tint-blue", "vignette"), ("darker", "blur"), ("crop-top", "sepia"),
    ("warmer", "flip-v"), ("posterize", "resize-320"), ("invert", "rotate-ccw"), ("contrast-down", "vintage"),
    ("rotate-cw", "brighter", "crop-left"), ("flip-h", "vivid", "vignette"),
    ("grayscale", "contrast-up", "resize-half"),
    ("crop-top", "warmer", "sharpen"), ("rotate-ccw", "darker", "tint-red"), ("blur", "posterize", "flip-v"),
    ("resize-320", "sepia", "rotate-180"), ("vintage", "contrast-down", "crop-top"),
)  # fmt: skip
PER_LENGTH = 12  # EdiVal goals of each length (2 and 3 edits)


def join(parts: list[str], sentences: bool = False) -> str:
    """One message stating ``parts`` in order: 'A and B', 'A, B and C', or one sentence each."""
    if sentences:
        return " ".join(p[0].upper() + p[1:] + "." for p in parts)
    return listing(parts)


def multi_case(  # noqa: PLR0917 - one row, its parts in the order of the format
    cid: str, rule: str, opening: str, goal: list[dict[str, Any]], source: dict[str, Any],
    missing: tuple[str, str, int] | None = None) -> dict[str, Any]:  # fmt: skip
    """One validated case row of a goal of several edits."""
    row: dict[str, Any] = {"id": cid, "rule": rule, "opening": opening, "goal": goal, "source": source}
    if missing is not None:
        row["missing"] = {"kind": missing[0], "answer": missing[1], "edit": missing[2]}
    return SimCase.model_validate(row).model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def goal_cases(
    cid: str, n: int, goal: list[dict[str, Any]], vague: list[dict[str, tuple[str, str, str]]], source: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """The four cases of one goal; ``vague[i]`` maps a rule to (opening clause, missing kind, answer) for edit i."""
    explicit = [g["instruction"] for g in goal]
    yield multi_case(f"{cid}-explicit", "explicit", join(explicit), goal, source)
    yield multi_case(f"{cid}-turns", "explicit_turns", explicit[0], goal, source)
    at = n % len(goal)
    drop = next(r for r in ("drop_value", "drop_object", "drop_operation") if r in vague[at])
    other = ("evaluative", "indirect")[n % 2]
    for rule, k in ((drop, at), (other, (n + 1) % len(goal))):
        clause, kind, answer = vague[k][rule]
        parts = [*explicit[:k], clause, *explicit[k + 1 :]]
        opening = join(parts, sentences=rule == "indirect")
        yield multi_case(f"{cid}-{rule.replace('_', '-')}", rule, opening, goal, source, (kind, answer, k))


def cpu_multi_cases(catalogue: dict[str, tuple[Any, ...]], evaluative: tuple[str, ...],
                    vague_operation: tuple[str, ...], ours: dict[str, Any]) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Four cases per combination of catalogue edits (``catalogue``: id -> the rest of its CATALOGUE row)."""
    for n, combo in enumerate(COMBOS):
        goal, vague = [], []
        for m, cid in enumerate(combo):
            tool, text, params, drop, indirect, _ = catalogue[cid]
            goal.append({"tool": tool, "instruction": text, "params": params})
            rules = {"evaluative": (evaluative[(n + m) % len(evaluative)], "operation", text),
                     "indirect": (indirect, "operation", text)}  # fmt: skip
            if drop is not None:
                rules["drop_value"] = (drop[0], "value", drop[1])
            else:
                rules["drop_operation"] = (vague_operation[(n + m) % len(vague_operation)], "operation", text)
            vague.append(rules)
        yield from goal_cases("+".join(combo), n, goal, vague, {**ours, "catalogue": list(combo)})


def edival_multi_cases(csv_text: str, commit: str, parse: Any, source: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Four cases per EdiVal row of 2 or 3 turns whose every turn ``parse`` reads (kind, parts, text, vague)."""
    taken = {2: 0, 3: 0}
    images: set[str] = set()
    for number, row in enumerate(csv.DictReader(io.StringIO(csv_text)), start=2):
        length = int(row["turns"])
        if length not in taken or taken[length] >= PER_LENGTH or row["image_index"] in images:
            continue
        kinds = ast.literal_eval(row["task_type"])
        formats = ast.literal_eval(row["format_instructions"])
        texts = ast.literal_eval(row["instructions"])
        read = [parse(kind, fmt, text) for kind, fmt, text in zip(kinds, formats, texts, strict=True)]
        if any(r is None for r in read):
            continue
        taken[length] += 1
        images.add(row["image_index"])
        goal = [edit for edit, _ in read]
        vague = [rules for _, rules in read]
        cid = f"edival-{row['image_index']}-{length}"
        rows = {"line": number, "image_index": row["image_index"], "texts": [g["instruction"] for g in goal]}
        yield from goal_cases(cid, len(images), goal, vague, {**source, "commit": commit, **rows})
