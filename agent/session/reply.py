"""What one turn produced: the Reply, read from the run's stream or from the saved state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage

from graphs.outcomes import EDIT_KINDS, FAULT, Outcome, OutcomeKind, outcomes
from graphs.state import Proposal, Revision, head_revision
from graphs.turn import this_turn

Action = Literal["edit", "clarify", "confirm", "undo", "redo", "forget", "rerender", "chat"]
# When one turn did several things, the reply's action is the most significant of them.
_PRIORITY: tuple[Action, ...] = ("edit", "forget", "rerender", "clarify", "undo", "redo")


@dataclass(frozen=True)
class Reply:
    """What one call of ``send`` did: the text for the user, the action, and the image it left."""

    text: str
    action: Action
    head: str  # revision id of the current image
    image: str  # store key of the current image
    revisions: tuple[Revision, ...]
    instruction: str | None = None  # the explicit instruction executed (or proposed)
    tool: str | None = None
    undo_steps: int | None = None
    error: str | None = None  # set when the action or the dialogue-model call failed (nothing was changed)
    confirmation: Proposal | None = None  # the proposal awaiting yes/no, if any
    actions: tuple[OutcomeKind | Literal["confirm"], ...] = ()  # every outcome of the turn ("confirm": a proposal)


def run_events(mode: str, chunk: Any) -> list[dict[str, Any]]:
    """Turn one item of LangGraph's multi-mode stream into Session events (see ``Session.send``)."""
    if mode == "custom":
        return [chunk]
    if mode == "updates":
        events: list[dict[str, Any]] = []
        for node, update in chunk.items():
            if node.startswith("__"):
                continue
            events.append({"kind": "step", "node": node})
            if isinstance(update, dict):  # the edit node's update lists the revisions it made
                events += [{"kind": "revision", "revision": r} for r in update.get("revisions", [])]
                if node == "preview" and update.get("preview"):
                    events.append({"kind": "preview", "preview": update["preview"]})
        return events
    message, metadata = chunk
    if metadata.get("langgraph_node") == "decide" and isinstance(message, AIMessage) and message.content:
        return [{"kind": "token", "text": message.text}]
    return []


def state_reply(state: Any, pending: Proposal | None) -> Reply:
    """The reply of the latest turn in ``state``; a pending confirmation makes it a proposal."""
    revisions = tuple(state["revisions"])
    head = head_revision(revisions, state["head"])
    if pending is not None:
        edit = pending["edits"][0]
        return Reply(
            text=pending["question"], action="confirm", head=head["id"], image=head["image"],
            revisions=revisions, instruction=edit["args"].get("instruction"), tool=edit["name"],
            confirmation=pending, actions=("confirm",),
        )  # fmt: skip
    return turn_reply(state["messages"], head, revisions)


def failed_action(found: Outcome) -> Action:
    """The action a failed call decided: a forget or rerender that could not run, else an edit."""
    tool = found.get("tool")
    return tool if tool in ("forget", "rerender") else "edit"  # type: ignore[return-value]


def turn_reply(messages: Sequence[AnyMessage], head: Revision, revisions: tuple[Revision, ...]) -> Reply:
    """Summarise the latest turn from its messages: what was done, and the closing text."""
    turn = this_turn(messages)
    done = [o for o in outcomes(turn) if o["kind"] not in ("invalid", "proposed")]
    kinds = [o["kind"] for o in done]
    decided = [o["kind"] if o["kind"] != "failed" else failed_action(o) for o in done]
    action: Action = next((a for a in _PRIORITY if a in decided), "chat")
    final = next((m for m in reversed(turn) if isinstance(m, AIMessage) and not m.tool_calls), None)
    text = str(final.content) if final is not None else ""
    edits = [o for o in done if o["kind"] in EDIT_KINDS and "tool" in o]
    last: Outcome | None = edits[-1] if edits else None
    error = (last["say"] or "failed") if last is not None and last["kind"] == "failed" else None
    if final is not None and FAULT in final.response_metadata:
        error = text  # the dialogue model failed: the text says how
    steps = next((o.get("steps") for o in done if o["kind"] in ("undo", "redo")), None)
    return Reply(
        text=text, action=action, head=head["id"], image=head["image"], revisions=revisions,
        instruction=last.get("instruction") if last else None, tool=last.get("tool") if last else None,
        undo_steps=steps, error=error,
        actions=tuple(kinds),
    )  # fmt: skip
