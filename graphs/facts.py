"""The facts the system prompt states in words, handed as data to a model that reads data (the embedded policy).

A served model reads the image history and the pending proposal from the system prompt; the
embedded policy gets the same facts as a ``DialogueFacts`` record in the run metadata of its call
(``FACTS_KEY``), which an OpenAI-compatible client ignores. What the previous turns did is data
already: the tool calls of the AI messages and the outcomes on their ToolMessages (graphs.outcomes).
So rewording any sentence for people or for the served model never changes a decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from graphs.deps import GraphDeps
from graphs.revisions import lineage
from graphs.state import EditState, Proposal

FACTS_KEY = "dialogpaint_facts"


class DialogueFacts(TypedDict):
    """What the model is told about the session besides the conversation."""

    edits_applied: int  # edits on the path from the upload to the current image
    redo_available: int  # undone edits that redo would bring back
    pending: Proposal | None  # the proposal awaiting the user's yes or no
    generative_tools: list[str]  # editing tools that follow free-form instructions


def dialogue_facts(state: EditState, deps: GraphDeps) -> DialogueFacts:
    """The facts of ``state`` the system prompt describes."""
    path = lineage(state.get("revisions", []), state.get("head"))
    return DialogueFacts(
        edits_applied=max(0, len(path) - 1),
        redo_available=len(state.get("redo_stack", [])),
        pending=state.get("pending"),
        generative_tools=[name for name, tool in deps.tools.items() if tool.capabilities.generative],
    )


def facts_in(metadata: Mapping[str, Any] | None) -> DialogueFacts | None:
    """The facts a call's run metadata carries, if the graph supplied them."""
    found = (metadata or {}).get(FACTS_KEY)
    return found if isinstance(found, dict) else None  # type: ignore[return-value]
