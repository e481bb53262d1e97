"""Scripted multi-turn evaluation: the eval-set format, running dialogues, and scoring decisions."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.session import Reply, Session
from tools.errors import DialogPaintError

Expect = Literal["edit", "clarify", "undo", "redo", "confirm_yes", "confirm_no", "chat"]
EXPECTS: tuple[Expect, ...] = ("edit", "clarify", "undo", "redo", "confirm_yes", "confirm_no", "chat")


class EvalTurn(BaseModel):
    """One user turn and the decision expected for it."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1)
    expect: Expect
    instruction_contains: list[str] = Field(default_factory=list)
    undo_steps: int | None = Field(None, ge=1)


class EvalDialogue(BaseModel):
    """One scripted dialogue; unknown keys (a source, notes) are ignored."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    image: str | None = None
    turns: list[EvalTurn] = Field(min_length=1)


class EvalFileError(DialogPaintError, ValueError):
    """An eval file line that is not a valid dialogue; the message names the file and line."""


def load_eval_file(path: str | Path) -> list[EvalDialogue]:
    """Parse a JSONL eval file, naming the line of the first problem."""
    path = Path(path)
    dialogues = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            dialogues.append(EvalDialogue.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            first = str(exc).splitlines()[0] if isinstance(exc, json.JSONDecodeError) else _first(exc)
            raise EvalFileError(f"{path}:{number}: {first}") from None
    return dialogues


def _first(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    return f"{'.'.join(map(str, error['loc']))}: {error['msg']}"


@dataclass(frozen=True)
class TurnResult:
    """The expected and predicted decision of one turn."""

    dialogue: str
    user: str
    expect: Expect
    predicted: str  # in the expectation's label space
    reply: Reply
    keywords_hit: bool | None  # None when no keywords were expected
    steps_exact: bool | None  # None when no step count was expected

    @property
    def correct(self) -> bool:
        """Whether the decision matched."""
        return self.predicted == self.expect


def predicted_label(expect: Expect, reply: Reply, pending_before: bool, edited_before: bool) -> str:
    """Map a reply onto the expectation labels, crediting equivalent outcomes.

    A confirmation proposal counts as an edit decision. A yes is credited when it applies the
    pending edit or is acknowledged with no new edit; a no when it discards the pending edit or
    undoes the edit just made, or (if the user named a new edit) when it makes that edit instead.
    """
    action = "edit" if reply.action == "confirm" else reply.action
    edited = bool({"edit", "failed"} & set(reply.actions))  # decided to edit, whether or not it ran
    if expect == "confirm_yes" and (pending_before or edited_before):
        approved = pending_before and edited
        if approved or reply.action == "chat":
            return "confirm_yes"
    if expect == "confirm_no" and (pending_before or edited_before):
        if reply.action in ("chat", "undo") and not edited:
            return "confirm_no"
        if action == "edit" and edited and "declined" not in reply.actions:
            return "confirm_no"
    return action


def run_dialogue(session: Session, dialogue: EvalDialogue) -> list[TurnResult]:
    """Send every turn of a dialogue and score each reply."""
    results: list[TurnResult] = []
    for turn in dialogue.turns:
        pending_before = session.confirmation() is not None
        edited_before = bool(results) and results[-1].reply.action == "edit" and results[-1].reply.error is None
        reply = session.send(turn.user)
        instruction = (reply.instruction or "").lower()
        hit = all(k.lower() in instruction for k in turn.instruction_contains) if turn.instruction_contains else None
        steps = reply.undo_steps == turn.undo_steps if turn.undo_steps is not None else None
        label = predicted_label(turn.expect, reply, pending_before, edited_before)
        results.append(TurnResult(dialogue.id, turn.user, turn.expect, label, reply, hit, steps))
    return results


def run_all(dialogues: Iterable[EvalDialogue], open_session: Callable[[EvalDialogue], Session]) -> list[TurnResult]:
    """Run dialogues, each in a fresh session."""
    return [r for d in dialogues for r in run_dialogue(open_session(d), d)]


def metrics(results: list[TurnResult]) -> dict[str, object]:
    """Accuracy, per-action precision/recall/F1, keyword hit rate and undo-step exactness."""
    total = len(results)
    per_action: dict[str, dict[str, float]] = {}
    for action in EXPECTS:
        tp = sum(r.correct and r.expect == action for r in results)
        predicted = sum(r.predicted == action for r in results)
        actual = sum(r.expect == action for r in results)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_action[action] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    hits = [r.keywords_hit for r in results if r.keywords_hit is not None]
    steps = [r.steps_exact for r in results if r.steps_exact is not None]
    confusion = Counter((r.expect, r.predicted) for r in results)
    return {
        "turns": total,
        "accuracy": sum(r.correct for r in results) / total if total else 0.0,
        "per_action": per_action,
        "instruction_keyword_hit_rate": sum(hits) / len(hits) if hits else None,
        "undo_steps_exact": sum(steps) / len(steps) if steps else None,
        "confusion": {f"{e}->{p}": n for (e, p), n in sorted(confusion.items())},
    }
