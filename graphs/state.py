"""Graph state: the conversation plus image revisions held as store keys, never as pixels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from langgraph.graph import MessagesState

from graphs.review import ActionRequest, ReviewConfig
from graphs.selfcheck import CheckRecord
from tools.errors import ImageNotFound


class Revision(TypedDict):
    """One node of the revision tree: an image plus the recipe that produced it."""

    id: str  # unguessable id
    image: str  # ImageStore key: sha256 of the canonical PNG bytes
    parent: str | None  # revision it was made from (None: the upload)
    instruction: str | None  # the explicit instruction T that produced it
    tool: str | None  # tool name
    params: dict[str, Any]  # the tool's params, seed included: a recipe that can be replayed
    created_at: str  # ISO 8601, UTC
    check: NotRequired[CheckRecord]  # the self-check's scores and attempts, for a checked generative edit


def head_revision(revisions: Sequence[Revision], head: str | None) -> Revision:
    """The revision ``head`` names; ImageNotFound if there is none."""
    found = next((r for r in revisions if r["id"] == head), None)
    if found is None:
        raise ImageNotFound(f"no revision {head!r} among the session's {len(revisions)} revisions")
    return found


class CallSpec(TypedDict):
    """A validated edit call: tool name, the model's arguments and its tool-call id."""

    id: str
    name: str
    args: dict[str, Any]


class Preview(TypedDict):
    """A cheap rendering of proposed edits, shown with the confirmation; an image store key, not a revision."""

    image: str  # ImageStore key of the preview PNG
    width: int
    height: int
    seeds: dict[str, int]  # call id -> the seed the preview used, which the approved edit uses too


class Proposal(TypedDict):
    """Edit calls proposed to the user and awaiting a yes or no: the interrupt payload and ``pending`` alike."""

    kind: Literal["confirm_edit"]
    question: str
    edits: list[CallSpec]
    preview: NotRequired[Preview]  # when a proposed tool can preview itself
    # the same calls in the human-in-the-loop request shape chat UIs show (graphs.review)
    action_requests: NotRequired[list[ActionRequest]]
    review_configs: NotRequired[list[ReviewConfig]]


def append_only(existing: list[Revision], new: list[Revision]) -> list[Revision]:
    """Reducer for revisions: nothing is ever removed or rewritten."""
    return existing + new


class EditState(MessagesState):
    """The whole state of one session (one LangGraph thread)."""

    revisions: Annotated[list[Revision], append_only]
    head: str | None
    redo_stack: list[str]  # revisions undone most recently last; cleared by a new edit
    pending: Proposal | None
    preview: Preview | None  # rendered by the preview node for the confirm node that follows it
