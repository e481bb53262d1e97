"""The reply that closes a turn, written in the same step as the answer to the message's last call.

The closing message is built from the outcomes the turn's nodes wrote (no second model call). It
used to be a step of its own (decide, edit, reply: three super-steps per edit turn), and with
``durability="sync"`` every super-step is a checkpoint write, a commit and LangGraph's bookkeeping
(0.9 ms CPU per step on SQLite, bench/bench_orchestration.py). Since the message depends only on
what that step itself has just answered, the node that answers a message's last open call appends
it to its own update (``closing``): an edit turn is decide then edit, and the closing text is saved
in the same checkpoint as the revision, so an acknowledged edit and its reply survive a crash
together, as before. ``reply`` remains as a node: a checkpoint an older version saved stopped before
it (a crash between the edit and the reply) finishes there, and a settled session is written as if
it had just run (``Engine.open``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.runtime import Runtime

from graphs.deps import GraphDeps
from graphs.outcomes import outcome
from graphs.state import EditState
from graphs.turn import latest_round, open_calls
from graphs.window import windowed


class Node(Protocol):
    """A node as LangGraph calls it: the state, and the run's runtime by keyword."""

    def __call__(self, state: EditState, *, runtime: Runtime[GraphDeps]) -> dict[str, Any]:
        """The node's update of the state."""
        ...


def reply(state: EditState, runtime: Runtime[GraphDeps]) -> dict[str, Any]:
    """Close the turn with one assistant message built from the outcomes (no second model call).

    Turns past the window move out here too, as in every closing step.
    """
    _, answers = latest_round(state["messages"])
    return windowed({"messages": [closing_message(answers)]}, state, runtime.context)


def closing_message(answers: Sequence[ToolMessage]) -> AIMessage:
    """What the user is told: what each answered call says, in order ("Done." when none says anything)."""
    says = [o["say"] for m in answers if (o := outcome(m)) is not None]
    return AIMessage(" ".join(s for s in says if s) or "Done.")


def closing(node: Callable[..., dict[str, Any]]) -> Node:
    """``node`` (taking the state, and the runtime if it names one) whose update also closes the turn
    when it answers the last open call of the message.

    The wrapper keeps the node's name, so steps, events and Studio show the node as before.
    """
    takes_runtime = "runtime" in inspect.signature(node).parameters

    def step(state: EditState, *, runtime: Runtime[GraphDeps]) -> dict[str, Any]:
        update = node(state, runtime) if takes_runtime else node(state)
        return closed(update, state, runtime.context)

    step.__name__ = step.__qualname__ = node.__name__
    step.__doc__ = node.__doc__
    return step


def closed(update: dict[str, Any], state: EditState, deps: GraphDeps) -> dict[str, Any]:
    """``update`` plus the closing message (and the move of old turns out of the window) when, once
    applied, every call of the message is answered and none invalidly: exactly when the router would
    have sent the turn to ``reply``. Otherwise ``update`` as it is (more calls, a repair round, a
    resumed confirmation's reply for ``decide``).
    """
    new = update.get("messages") or []
    if not new or not isinstance(new[-1], ToolMessage):
        return update
    messages = [*state["messages"], *new]  # what add_messages makes of it: the node's messages are all new
    if open_calls(messages):
        return update
    _, answers = latest_round(messages)
    if any(o["kind"] == "invalid" for m in answers if (o := outcome(m)) is not None):
        return update
    after: EditState = {**state, "messages": messages}
    return windowed({**update, "messages": [*new, closing_message(answers)]}, after, deps)
