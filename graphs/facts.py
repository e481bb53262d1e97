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
from tools.base import EditTool, Readiness

FACTS_KEY = "dialogpaint_facts"


class MissingTool(TypedDict):
    """A registered editing tool that cannot run here now: never offered, but the user can be told why."""

    name: str
    generative: bool  # it follows free-form instructions (the capability that is missing)
    reason: str  # why it cannot run
    enable: str  # what would make it run ("" when nothing simple would)


class AppliedEdit(TypedDict):
    """One edit on the path to the current image, oldest first: what undo and forget refer to."""

    tool: str
    instruction: str


class DialogueFacts(TypedDict):
    """What the model is told about the session besides the conversation."""

    edits_applied: int  # edits on the path from the upload to the current image
    redo_available: int  # undone edits that redo would bring back
    pending: Proposal | None  # the proposal awaiting the user's yes or no
    generative_tools: list[str]  # ready editing tools that follow free-form instructions
    missing_tools: list[MissingTool]  # registered tools that cannot run here now (not offered)
    applied: list[AppliedEdit]  # the edits on the path, oldest first (len == edits_applied)


def dialogue_facts(state: EditState, deps: GraphDeps, missing: Mapping[str, Readiness] | None = None) -> DialogueFacts:
    """The facts of ``state`` the system prompt describes; ``missing``: the tools not ready now (by name)."""
    path = lineage(state.get("revisions", []), state.get("head"))
    missing = missing or {}
    return DialogueFacts(
        edits_applied=max(0, len(path) - 1),
        redo_available=len(state.get("redo_stack", [])),
        pending=state.get("pending"),
        generative_tools=[n for n, tool in deps.tools.items() if tool.capabilities.generative and n not in missing],
        missing_tools=[missing_tool(name, deps.tools[name], found) for name, found in missing.items()],
        applied=[AppliedEdit(tool=str(r["tool"]), instruction=r["instruction"] or "") for r in path[1:]],
    )


def missing_tool(name: str, tool: EditTool, found: Readiness) -> MissingTool:
    """The fact of one tool that is not ready."""
    return MissingTool(name=name, generative=tool.capabilities.generative, reason=found.reason, enable=found.enable)


def facts_in(metadata: Mapping[str, Any] | None) -> DialogueFacts | None:
    """The facts a call's run metadata carries, if the graph supplied them."""
    found = (metadata or {}).get(FACTS_KEY)
    return found if isinstance(found, dict) else None  # type: ignore[return-value]
