"""The window: graph state holds the latest turns of the conversation, older turns move to the transcript.

LangGraph's own ``RemoveMessage`` drops them from the ``messages`` channel (through ``add_messages``),
in the same update as the node's own messages, so a turn writes no extra checkpoint. Before that
update is returned the dropped messages are appended to the transcript table next to the checkpoints
(``graphs.storage.transcript``) at their positions in the conversation; the state's ``archived``
counts them. A step re-run after a crash appends the same rows again, which changes nothing, and the
count moves only with the checkpoint, so nothing is lost or shown twice.

Turns move half a window at a time, so the state holds ``window_turns`` to one and a half times as
many. Whole turns move (the cut is at a user message), so a tool call never loses its ToolMessage and what
the model, the policy and the router read (this turn, the previous one, the questions in a row) is
always in the window. A session saved before the window existed has ``archived`` 0 and its whole
conversation in the state: its first step after loading moves the old turns out (the migration).
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, RemoveMessage
from langgraph.config import get_config

from graphs.deps import GraphDeps
from graphs.state import EditState


def window_turns(deps: GraphDeps) -> int:
    """Turns kept in the state: the configured window, and always enough for the question cap's count."""
    return max(deps.limits.window_turns, deps.limits.questions_in_a_row + 2)


def most_turns(deps: GraphDeps) -> int:
    """The most turns the state holds: turns move out half a window at a time, so the transcript's insert
    (a commit, and an fsync) comes once every so many turns rather than every turn.
    """
    keep = window_turns(deps)
    return keep + max(1, keep // 2)


def evicted(state: EditState, deps: GraphDeps) -> dict[str, Any]:
    """The update that moves the turns before the window to the transcript ({} when none need to move).

    Costs the window's length, never the conversation's: only the messages in the state are looked at.
    """
    if deps.transcript is None:
        return {}  # nowhere to keep them: the state keeps the whole conversation
    messages = state["messages"]
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    keep = window_turns(deps)
    if len(humans) <= most_turns(deps):
        return {}
    old = messages[: humans[-keep]]
    archived = state.get("archived", 0)
    deps.transcript.append(str(get_config()["configurable"]["thread_id"]), archived, old)
    return {"messages": [RemoveMessage(id=str(m.id)) for m in old], "archived": archived + len(old)}


def windowed(update: dict[str, Any], state: EditState, deps: GraphDeps) -> dict[str, Any]:
    """A node's ``update`` plus the move of the turns before the window, in the same step."""
    moved = evicted(state, deps)
    if not moved:
        return update
    return {**update, "messages": [*moved["messages"], *update.get("messages", [])], "archived": moved["archived"]}
