"""Scripted multi-turn evaluation: the eval-set format, running dialogues, and scoring decisions."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.session.reply import Reply
from agent.session.session import Session
from tools import safe_json
from tools.errors import DialogPaintError, ImageRejected, brief_errors
from tools.images import read_image_file

Expect = Literal["edit", "clarify", "undo", "redo", "forget", "rerender", "confirm_yes", "confirm_no", "chat"]
EXPECTS: tuple[Expect, ...] = (
    "edit", "clarify", "undo", "redo", "forget", "rerender", "confirm_yes", "confirm_no", "chat"
)  # fmt: skip


class EvalTurn(BaseModel):
    """One user turn and the decision expected for it; unknown keys are refused (they are typos)."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1)
    expect: Expect
    instruction_contains: list[str] = Field(default_factory=list)
    undo_steps: int | None = Field(None, ge=1)


class EvalDialogue(BaseModel):
    """One scripted dialogue; unknown keys (a source, notes) are ignored."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    image: str | None = None  # relative to the eval file; load_eval_file resolves it
    caption: str | None = None  # what the source image shows (text side of the CLIP metrics)
    turns: list[EvalTurn] = Field(min_length=1)


class EvalFileError(DialogPaintError, ValueError):
    """An eval file line that is not a valid dialogue; the message names the file and line."""


def load_eval_file(path: str | Path) -> list[EvalDialogue]:
    """Parse a JSONL eval file, naming the line of the first problem; image paths come back resolved."""
    path = Path(path)
    if not path.is_file():
        raise EvalFileError(f"no eval file at {path}")
    dialogues = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EvalFileError(f"{path}:{number}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if not line.strip():
            continue
        try:
            value = safe_json.loads(line)
            if not isinstance(value, dict):
                raise EvalFileError(f"{path}:{number}: a line must be one JSON object (a dialogue), got {line[:40]!r}")
            dialogue = EvalDialogue.model_validate(value)
        except ValueError as exc:  # bad JSON, nesting too deep, or a ValidationError
            first = (
                brief_errors(exc, "dialogue", limit=1) if isinstance(exc, ValidationError) else str(exc).splitlines()[0]
            )
            raise EvalFileError(f"{path}:{number}: {first}") from None
        if dialogue.image is not None:
            dialogue = dialogue.model_copy(update={"image": str(_checked_image(path, number, dialogue.image))})
        dialogues.append(dialogue)
    return dialogues


def _checked_image(path: Path, number: int, image: str) -> Path:
    """The dialogue's image path, refused here (naming the line) if it is missing or not a usable image."""
    resolved = path.parent / image
    if not resolved.is_file():
        raise EvalFileError(f"{path}:{number}: image {image!r} not found at {resolved}")
    try:
        read_image_file(resolved)
    except ImageRejected as exc:
        raise EvalFileError(f"{path}:{number}: image {image!r} is unusable: {exc}") from None
    return resolved


@dataclass(frozen=True)
class TurnResult:
    """The expected and predicted decision of one turn, with its cost."""

    dialogue: str
    turn: EvalTurn
    index: int  # position of the turn in its dialogue, from 1
    predicted: str  # in the expectation's label space
    reply: Reply
    latency_s: float = 0.0
    model_calls: int = 0

    @property
    def expect(self) -> Expect:
        """The expected decision."""
        return self.turn.expect

    @property
    def correct(self) -> bool:
        """Whether the decision matched."""
        return self.predicted == self.turn.expect

    @property
    def keywords_hit(self) -> bool | None:
        """Whether the executed instruction holds every expected keyword; None when none were expected."""
        if not self.turn.instruction_contains:
            return None
        instruction = (self.reply.instruction or "").lower()
        return all(k.lower() in instruction for k in self.turn.instruction_contains)

    @property
    def steps_exact(self) -> bool | None:
        """Whether the undo moved the expected number of steps; None when no count was expected."""
        return self.reply.undo_steps == self.turn.undo_steps if self.turn.undo_steps is not None else None

    def record(self) -> dict[str, Any]:
        """The turn as one JSON-ready row (revision ids are random, so head is a creation index)."""
        revisions = [r["id"] for r in self.reply.revisions]
        return {
            "dialogue": self.dialogue, "turn": self.index, "user": self.turn.user,
            "expect": self.expect, "predicted": self.predicted, "action": self.reply.action,
            "correct": self.correct, "instruction": self.reply.instruction, "tool": self.reply.tool,
            "instruction_contains": self.turn.instruction_contains, "keywords_hit": self.keywords_hit,
            "undo_steps": self.reply.undo_steps, "expected_undo_steps": self.turn.undo_steps,
            "steps_exact": self.steps_exact, "head": revisions.index(self.reply.head),
            "image": self.reply.image, "revisions": len(revisions), "error": self.reply.error,
            "actions": list(self.reply.actions),
            "reply": self.reply.text, "model_calls": self.model_calls, "latency_s": round(self.latency_s, 6),
        }  # fmt: skip


def predicted_label(
    expect: Expect, reply: Reply, pending_before: bool, edited_before: bool, pending: Collection[str] = ()
) -> str:
    """Map a reply onto the expectation labels, crediting equivalent outcomes.

    A confirmation proposal counts as an edit decision. A yes is credited when it applies the
    pending edit or is acknowledged with no new edit; a no when it discards the pending edit or
    undoes the edit just made, or (if the user named a new edit) when it makes that edit instead.
    ``pending`` holds the instructions of the proposed edits: applying one of them after a no is
    the worst confirmation error, never an equivalent of it.
    """
    action: str = reply.action
    if reply.action == "confirm":  # a proposal: of an edit, or of a forget or rerender that re-runs a costly one
        action = str(reply.tool) if reply.tool in ("forget", "rerender") else "edit"
    edited = bool({"edit", "failed"} & set(reply.actions))  # decided to edit, whether or not it ran
    proposed = reply.instruction in pending  # the edit made is (one of) the pending ones
    if expect == "confirm_yes" and (pending_before or edited_before):
        approved = pending_before and edited and proposed
        if approved or reply.action == "chat":
            return "confirm_yes"
    if expect == "confirm_no" and (pending_before or edited_before):
        if reply.action in ("chat", "undo") and not edited:
            return "confirm_no"
        if action == "edit" and edited and not proposed:
            return "confirm_no"
    return action


def run_dialogue(
    session: Session,
    dialogue: EvalDialogue,
    model_calls: Callable[[], int] = lambda: 0,
    on_turn: Callable[[TurnResult], None] = lambda _: None,
) -> list[TurnResult]:
    """Send every turn of a dialogue and score each reply.

    Args:
        model_calls: a running count of dialogue-model calls, read before and after each turn.
        on_turn: called with each turn's result as soon as it is known (a progress bar).
    """
    results: list[TurnResult] = []
    for index, turn in enumerate(dialogue.turns, start=1):
        # A proposal still waits after a reply in words ("thanks!", "let me think"): no interrupt, but pending.
        proposal = session.confirmation() or (session.state().get("pending") if results else None)
        pending_before = proposal is not None
        pending = [e["args"].get("instruction", "") for e in proposal["edits"]] if proposal else []
        edited_before = bool(results) and results[-1].reply.action == "edit" and results[-1].reply.error is None
        calls_before, started = model_calls(), time.perf_counter()
        reply = session.send(turn.user)
        latency, calls = time.perf_counter() - started, model_calls() - calls_before
        label = predicted_label(turn.expect, reply, pending_before, edited_before, pending)
        results.append(TurnResult(dialogue.id, turn, index, label, reply, latency, calls))
        on_turn(results[-1])
    return results


def run_all(dialogues: Iterable[EvalDialogue], open_session: Callable[[EvalDialogue], Session]) -> list[TurnResult]:
    """Run dialogues, each in a fresh session."""
    return [r for d in dialogues for r in run_dialogue(open_session(d), d)]
