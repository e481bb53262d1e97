"""The goal-case file format of `dialogpaint simulate`, and whether an edit does what a goal says.

One JSON object a line (eval_sets/simulate/README.md documents every key):

    {"id": "rotate-cw-value", "rule": "drop_value", "opening": "rotate it",
     "missing": {"kind": "value", "answer": "90 degrees clockwise"},
     "goal": [{"tool": "rotate", "instruction": "rotate it 90 degrees clockwise", "params": {"degrees": -90}}],
     "source": {"repo": "...", "path": "...", "row": "...", "text": "..."}}

Read by ``agent.eval.simulate.user`` (what the user wants, what it answers) and
``agent.eval.simulate.harness`` (success). A CPU goal is met exactly: the same tool and every stated
parameter equal (or inside a stated bound); a generative goal (``instruct_pix2pix``) is met when the
executed explicit instruction contains the goal's object and one of its change words. The goal's
edits are met in the order stated, except that two edits which give the same pixels in either
order (``commutes``: one that changes each pixel from itself alone, one that only moves or selects
pixels) may land in either order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tools import safe_json
from tools.errors import DialogPaintError, brief_errors

GENERATIVE = "instruct_pix2pix"
Rule = Literal["explicit", "explicit_turns", "drop_object", "drop_value", "drop_operation", "evaluative", "indirect"]
RULES: tuple[Rule, ...] = (
    "explicit", "explicit_turns", "drop_object", "drop_value", "drop_operation", "evaluative", "indirect",
)  # fmt: skip
EXPLICIT: frozenset[str] = frozenset({"explicit", "explicit_turns"})  # openings that miss nothing
PieceKind = Literal["object", "value", "operation"]
Scalar = float | int | str | bool
TOLERANCE = 1e-6


class Bound(BaseModel):
    """A numeric parameter the goal bounds instead of fixing ('brighter': brightness above 1)."""

    model_config = ConfigDict(extra="forbid")

    gt: float | None = None
    lt: float | None = None

    def holds(self, value: Any) -> bool:
        """Whether ``value`` is a number inside the bound."""
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        return (self.gt is None or value > self.gt) and (self.lt is None or value < self.lt)


class GoalEdit(BaseModel):
    """One fully explicit edit of a goal: the tool, its instruction and what must hold of its arguments."""

    model_config = ConfigDict(extra="forbid")

    tool: str = Field(min_length=1)
    instruction: str = Field(min_length=2, max_length=300)
    params: dict[str, Scalar | Bound | list[Scalar]] = Field(default_factory=dict)  # exact, bounded or any of a list
    object: str | None = None  # generative: what is edited ("the sky")
    change: list[str] = Field(default_factory=list)  # generative: any of these words says the change ("purple")

    @model_validator(mode="after")
    def _generative_has_object_and_change(self) -> GoalEdit:
        if self.tool == GENERATIVE and (not self.object or not self.change):
            raise ValueError(f"a {GENERATIVE} goal needs an object and at least one change word")
        return self


class Missing(BaseModel):
    """The piece the opening leaves out, and the user's answer when asked about it."""

    model_config = ConfigDict(extra="forbid")

    kind: PieceKind
    answer: str = Field(min_length=1)
    edit: int = Field(default=0, ge=0)  # the goal edit the opening's rule was applied to (a goal of several)


class SimCase(BaseModel):
    """One simulated-user case: an image, the hidden goal, the opening and the rule that derived it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    rule: Rule
    opening: str = Field(min_length=1, max_length=300)
    missing: Missing | None = None  # None for the explicit control
    goal: list[GoalEdit] = Field(min_length=1, max_length=5)
    image: str | None = None  # relative to the file; None: the built-in sample landscape
    source: dict[str, Any] = Field(default_factory=dict)  # provenance of the goal's text

    @model_validator(mode="after")
    def _explicit_misses_nothing(self) -> SimCase:
        if (self.rule in EXPLICIT) != (self.missing is None):
            raise ValueError("an explicit opening misses nothing; every other rule names its missing piece")
        if self.missing is not None and self.missing.edit >= len(self.goal):
            raise ValueError(f"missing.edit {self.missing.edit} is past the goal's {len(self.goal)} edit(s)")
        if self.rule == "explicit_turns" and len(self.goal) < 2:
            raise ValueError("explicit_turns states a goal of several edits over turns; this goal has one")
        return self

    @property
    def asked_edit(self) -> int:
        """The goal edit the opening's rule was applied to (0 for an explicit opening)."""
        return self.missing.edit if self.missing is not None else 0

    @property
    def generative(self) -> bool:
        """Whether the goal uses the generative editor."""
        return any(edit.tool == GENERATIVE for edit in self.goal)


class CaseFileError(DialogPaintError, ValueError):
    """A case file line that is not a valid case; the message names the file and line."""


def load_cases(path: str | Path) -> list[SimCase]:
    """Parse a JSONL case file, naming the line of the first problem; image paths come back resolved."""
    path = Path(path)
    if not path.is_file():
        raise CaseFileError(f"no case file at {path}")
    cases: list[SimCase] = []
    seen: set[str] = set()
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
            if not line.strip():
                continue
            value = safe_json.loads(line)
            if not isinstance(value, dict):
                raise CaseFileError(f"{path}:{number}: a line must be one JSON object (a case), got {line[:40]!r}")
            case = SimCase.model_validate(value)
        except UnicodeDecodeError as exc:
            raise CaseFileError(f"{path}:{number}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except ValidationError as exc:
            raise CaseFileError(f"{path}:{number}: {brief_errors(exc, 'case', limit=1)}") from None
        except ValueError as exc:
            raise CaseFileError(f"{path}:{number}: {str(exc).splitlines()[0]}") from None
        if case.id in seen:
            raise CaseFileError(f"{path}:{number}: case id {case.id!r} appears twice")
        seen.add(case.id)
        if case.image is not None:
            image = path.parent / case.image
            if not image.is_file():
                raise CaseFileError(f"{path}:{number}: image {case.image!r} not found at {image}")
            case = case.model_copy(update={"image": str(image)})
        cases.append(case)
    if not cases:
        raise CaseFileError(f"no cases in {path}")
    return cases


def edit_matches(goal: GoalEdit, tool: str | None, params: Mapping[str, Any], instruction: str | None) -> bool:
    """Whether an edit (made or proposed) does what ``goal`` says: exact for CPU tools, words for generative."""
    if tool != goal.tool:
        return False
    if goal.tool == GENERATIVE:
        text = (instruction or str(params.get("instruction") or "")).lower()
        return goal.object is not None and goal.object.lower() in text and any(w.lower() in text for w in goal.change)
    for name, wanted in goal.params.items():
        value = params.get(name)
        if isinstance(wanted, Bound):
            if not wanted.holds(value):
                return False
        elif not any(_equal(value, w) for w in (wanted if isinstance(wanted, list) else [wanted])):
            return False
    return True


def _equal(value: Any, wanted: Scalar) -> bool:
    if isinstance(wanted, float | int) and not isinstance(wanted, bool):
        return isinstance(value, int | float) and not isinstance(value, bool) and abs(value - wanted) <= TOLERANCE
    return bool(value == wanted)


# Edits whose every output pixel depends on the same input pixel alone, and edits that only move or
# select pixels: one of each gives the same picture in either order, pixel for pixel
# (tests/test_simulate_order.py renders both orders with the real tools). adjust_tone is pointwise
# unless it changes the contrast (Pillow's contrast pivots on the whole image's mean, which a crop
# changes); a rotation only moves pixels in quarter turns.
POINTWISE: frozenset[str] = frozenset({"grayscale", "sepia", "invert", "tint", "posterize"})
MOVES: frozenset[str] = frozenset({"flip", "crop"})


def pointwise(tool: str | None, params: Mapping[str, Any]) -> bool:
    """Whether an edit changes each pixel from that pixel alone."""
    if tool == "adjust_tone":
        return bool(params.get("contrast", 1.0) == 1.0)
    return tool in POINTWISE


def moves_pixels(tool: str | None, params: Mapping[str, Any]) -> bool:
    """Whether an edit only moves or selects pixels (a flip, a crop, a quarter turn)."""
    if tool == "rotate":  # a transpose: a quarter turn that grows the canvas, or a half turn
        degrees = params.get("degrees")
        if not isinstance(degrees, int | float) or isinstance(degrees, bool) or degrees % 90:
            return False
        return params.get("expand", True) is not False or degrees % 360 == 180
    return tool in MOVES


def commutes(a_tool: str | None, a_params: Mapping[str, Any], b_tool: str | None, b_params: Mapping[str, Any]) -> bool:
    """Whether two edits give the same picture in either order (one pointwise, the other moving pixels)."""
    return (pointwise(a_tool, a_params) and moves_pixels(b_tool, b_params)) or (
        moves_pixels(a_tool, a_params) and pointwise(b_tool, b_params)
    )
