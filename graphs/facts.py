"""The facts the system prompt states in words, handed as data to a model that reads data (the embedded policy).

A served model reads the image history and the pending proposal from the system prompt; the
embedded policy gets the same facts as a ``DialogueFacts`` record in the run metadata of its call
(``FACTS_KEY``), which an OpenAI-compatible client ignores. What the previous turns did is data
already: the tool calls of the AI messages and the outcomes on their ToolMessages (graphs.outcomes).
So rewording any sentence for people or for the served model never changes a decision.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from graphs.deps import GraphDeps
from graphs.revisions import lineage
from graphs.state import EditState, Proposal, Revision
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
        applied=applied_edits(path),
    )


# The applied edits of the paths seen lately, by the id of the path's last revision: a revision's path
# never changes (its parent is fixed, ids are unique), so a new head costs its own edit, not the path's.
_APPLIED: OrderedDict[str, tuple[AppliedEdit, ...]] = OrderedDict()
_APPLIED_KEPT = 256
_APPLIED_LOCK = threading.Lock()


def applied_edits(path: Sequence[Revision]) -> list[AppliedEdit]:
    """The edits on ``path`` (from the upload, as ``lineage`` returns it), oldest first."""
    if len(path) < 2:
        return []
    with _APPLIED_LOCK:
        known = _APPLIED.get(path[-1]["id"])
        if known is None or len(known) != len(path) - 1:
            before = _APPLIED.get(path[-2]["id"])
            if before is not None and len(before) == len(path) - 2:
                known = (*before, applied_edit(path[-1]))
            else:
                known = tuple(map(applied_edit, path[1:]))
            _APPLIED[path[-1]["id"]] = known
        _APPLIED.move_to_end(path[-1]["id"])
        while len(_APPLIED) > _APPLIED_KEPT:
            _APPLIED.popitem(last=False)
    return list(known)


def applied_edit(revision: Revision) -> AppliedEdit:
    """The fact of one edit on the path."""
    return AppliedEdit(tool=str(revision["tool"]), instruction=revision["instruction"] or "")


def missing_tool(name: str, tool: EditTool, found: Readiness) -> MissingTool:
    """The fact of one tool that is not ready."""
    return MissingTool(name=name, generative=tool.capabilities.generative, reason=found.reason, enable=found.enable)


def facts_in(metadata: Mapping[str, Any] | None) -> DialogueFacts | None:
    """The facts a call's run metadata carries, if the graph supplied them."""
    found = (metadata or {}).get(FACTS_KEY)
    return found if isinstance(found, dict) else None  # type: ignore[return-value]
