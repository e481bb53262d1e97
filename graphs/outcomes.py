"""What a turn did, as data: the outcome a node attaches to its ToolMessage, and the proposal awaiting a yes or no.

Every reader (the reply, the router, the Session API, the embedded policy, the eval harness) reads
these typed records; none of them parses the sentences written for the user or the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NotRequired, TypedDict, cast

from langchain_core.messages import BaseMessage, ToolMessage
from langgraph.types import Interrupt

from graphs.recipe_plans import RECIPE_KINDS
from graphs.referents import Referent
from graphs.review import review_fields
from graphs.state import CallSpec, Preview, Proposal

OutcomeKind = Literal[
    "edit", "failed", "skipped", "invalid", "clarify", "proposed", "declined", "undo", "redo", "forget", "rerender"
]
# Outcomes that mean the call did not do what it asked (the ToolMessage gets status "error").
ERROR_KINDS: frozenset[OutcomeKind] = frozenset({"invalid", "failed", "skipped"})
# The edit decisions: made (edit) or attempted and not applied (failed).
EDIT_KINDS: frozenset[OutcomeKind] = frozenset({"edit", "failed"})
# The response_metadata key of an AI message that reports a failed model call (decide writes it, Reply reads it).
FAULT = "dialogpaint_fault"


class Outcome(TypedDict):
    """What one tool call did, for the user (``say``) and for every part that reads a turn."""

    kind: OutcomeKind
    say: str  # the sentence shown to the user ("" when the call says nothing itself)
    tool: NotRequired[str]  # the editing tool, for edit outcomes
    instruction: NotRequired[str]  # the explicit instruction it ran (or would have)
    revision: NotRequired[str]  # the revision an applied edit made
    steps: NotRequired[int]  # how many steps an undo or redo moved, or how many edits a forget or rerender re-ran
    referent: NotRequired[Referent]  # the candidates a question about the image named (graphs.nodes.disambiguate)


def proposal(edits: Sequence[CallSpec], question: str, preview: Preview | None = None) -> Proposal:
    """The proposal of ``edits`` with the question put to the user, and the preview if one was made.

    With a preview, each previewed call carries the preview's seed in its args, so the approved edit
    is the full-quality rendering of the same noise. The calls are also given in the
    human-in-the-loop request shape (graphs.review) that chat UIs show with approve / edit / reject.
    """
    seeds = preview["seeds"] if preview is not None else {}
    pinned = [
        CallSpec(id=e["id"], name=e["name"], args={**e["args"], "seed": seeds[e["id"]]}) if e["id"] in seeds else e
        for e in edits
    ]
    recipe = any(e["name"] in RECIPE_KINDS for e in pinned)
    requests, configs = review_fields([(e["name"], e["args"]) for e in pinned], question, recipe)
    made = Proposal(
        kind="confirm_edit", question=question, edits=pinned, action_requests=requests, review_configs=configs
    )
    if preview is not None:
        made["preview"] = preview
    return made


def pending_proposal(interrupts: Sequence[Interrupt]) -> Proposal | None:
    """The proposal among a run's or a snapshot's interrupts, if any."""
    found = (i.value for i in interrupts if isinstance(i.value, dict) and i.value.get("kind") == "confirm_edit")
    return cast(Proposal | None, next(found, None))


def outcome(message: BaseMessage) -> Outcome | None:
    """The outcome a node attached to its ToolMessage, or None (another message, or no outcome)."""
    if isinstance(message, ToolMessage) and isinstance(message.artifact, dict) and "kind" in message.artifact:
        return message.artifact  # type: ignore[return-value]
    return None


def outcomes(messages: Sequence[BaseMessage]) -> list[Outcome]:
    """The outcomes among ``messages``, in order."""
    return [o for m in messages if (o := outcome(m)) is not None]


def tool_message(call_id: str, content: str, kind: OutcomeKind, say: str = "", **extra: Any) -> ToolMessage:
    """A ToolMessage for the model (content) carrying the outcome for everyone else (artifact)."""
    artifact = Outcome(kind=kind, say=say, **extra)  # type: ignore[typeddict-item]
    status = "error" if kind in ERROR_KINDS else "success"
    return ToolMessage(content=content, tool_call_id=call_id, artifact=artifact, status=status)
