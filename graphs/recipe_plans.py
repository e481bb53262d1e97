"""What a forget or a re-render will re-run, worked out from the revision tree alone (pure functions).

A plan names the revision the re-run starts from and the recipes to run on it, in order. Forget
keeps every later edit as recorded; re-render merges the generative edits into one edit of the
original (their instructions joined, the first one's seed) and re-applies the exact edits after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from graphs.revisions import describe, lineage
from graphs.specs import MAX_INSTRUCTION, Forget, validate_control_call
from graphs.state import Revision
from tools.base import EditTool

RecipeKind = Literal["forget", "rerender"]
RECIPE_KINDS: tuple[RecipeKind, ...] = ("forget", "rerender")
STOP_WORDS = frozenset(
    {"the", "a", "an", "that", "this", "these", "those", "edit", "edits", "change", "changes", "effect", "one", "my",
     "filter", "step", "steps"}
)  # fmt: skip


class PlanError(ValueError):
    """The forget or re-render cannot be done; the message says why, for the user and the model."""


class NoMatchingEdit(PlanError):
    """The words of a forget name no applied edit: the user is asked which one, never told of a failure."""

    def __init__(self, words: str, edits: Sequence[Revision]) -> None:
        applied = "; ".join(f"{i}. {r['instruction']}" for i, r in enumerate(edits, start=1))
        super().__init__(f"no applied edit matches '{words}'; the edits are: {applied}")
        self.question = f"Which edit should I take back? None matches '{words}'. The edits are: {applied}."


@dataclass(frozen=True)
class Recipe:
    """One edit to run again: the tool, the instruction and the params with their seed."""

    tool: str
    instruction: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """Where a re-run starts, what it runs, and what it leaves out."""

    base: Revision  # the revision the re-run starts from
    recipes: tuple[Recipe, ...]
    dropped: tuple[Revision, ...]  # the edits that are no longer on the new path
    head: str  # the revision that was current before the re-run

    def tools(self) -> list[str]:
        """The tools the re-run calls."""
        return [r.tool for r in self.recipes]


def plan_for(
    revisions: Sequence[Revision], head: str | None, tools: Mapping[str, EditTool], name: str, args: dict[str, Any]
) -> Plan:
    """The plan of a forget or rerender call; PlanError (or ValueError for bad arguments) if it cannot run."""
    valid = validate_control_call(name, args)
    if isinstance(valid, Forget):
        return forget_plan(revisions, head, valid.position, valid.edit)
    return rerender_plan(revisions, head, tools)


def recipe_of(revision: Revision) -> Recipe:
    """The recipe a revision recorded."""
    return Recipe(str(revision["tool"]), revision["instruction"] or "", dict(revision["params"]))


def forget_plan(revisions: Sequence[Revision], head: str | None, position: int | None, words: str) -> Plan:
    """Forget one edit on the head's path (by its number ``position``, oldest = 1, else by ``words``); keep the rest."""
    path = lineage(revisions, head)
    edits = path[1:]
    if not edits:
        raise PlanError("there is nothing to forget: this is the original image")
    if position is None:
        position = matching_position(edits, words)
    if not 1 <= position <= len(edits):
        raise PlanError(f"there is no edit {position}: {len(edits)} edit(s) are applied")
    target = edits[position - 1]
    kept = tuple(recipe_of(r) for r in edits[position:])
    return Plan(base=path[position - 1], recipes=kept, dropped=(target,), head=path[-1]["id"])


def matching_position(edits: Sequence[Revision], text: str) -> int:
    """The number (oldest = 1) of the latest edit whose instruction or tool has every word of ``text``."""
    words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP_WORDS]
    if not words:
        raise NoMatchingEdit(text, edits)
    for position in range(len(edits), 0, -1):
        revision = edits[position - 1]
        said = re.findall(r"[a-z0-9]+", f"{revision['instruction']} {revision['tool']}".lower().replace("_", " "))
        if all(any(s.startswith(w) for s in said) for w in words):
            return position
    raise NoMatchingEdit(text, edits)


def rerender_plan(revisions: Sequence[Revision], head: str | None, tools: Mapping[str, EditTool]) -> Plan:
    """Merge the generative edits of the head's path into one edit of the original; re-apply the rest."""
    path = lineage(revisions, head)
    edits = path[1:]
    generative = [r for r in edits if r["tool"] in tools and tools[str(r["tool"])].capabilities.generative]
    if len(generative) < 2:
        raise PlanError(
            f"there is nothing to re-render: {len(generative)} generative edit(s) lead to this image, and "
            "re-rendering merges two or more into one edit of the original"
        )
    tool = generative[0]["tool"]
    merged = [r for r in generative if r["tool"] == tool]
    instruction = " and ".join(r["instruction"] or "" for r in merged)
    if len(instruction) > MAX_INSTRUCTION:
        raise PlanError(
            f"the combined instruction would be {len(instruction)} characters; the limit is {MAX_INSTRUCTION}"
        )
    params = {**merged[-1]["params"], "seed": merged[0]["params"].get("seed")}
    rest = tuple(recipe_of(r) for r in edits if r not in merged)
    first = Recipe(str(tool), instruction, params)
    return Plan(base=path[0], recipes=(first, *rest), dropped=tuple(merged), head=path[-1]["id"])


def plan_question(kind: str, plan: Plan) -> str:
    """The confirmation question that proposes a plan."""
    steps = "; then ".join(r.instruction for r in plan.recipes)
    if kind == "forget":
        what = f"forget {describe(plan.dropped[0])}"
        rerun = f" and re-apply {len(plan.recipes)} later edit(s) ({steps})" if plan.recipes else ""
        return f"I'm about to {what}{rerun}. Shall I go ahead?"
    return f"I'm about to re-render from the original: {steps}. Shall I go ahead?"
