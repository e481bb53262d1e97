"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.session.reply import Action
from graphs.state import Revision
from tools.base import MAX_STEPS


class MessageIn(BaseModel):
    """A user message; its length limit is the service's ``max_message_chars``."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="What the user said.", examples=["make it brighter"])


class ConfirmationIn(BaseModel):
    """The user's answer to a proposed edit."""

    model_config = ConfigDict(extra="forbid")

    approve: bool = Field(description="True applies the proposed edit, false discards it.")


class StepsIn(BaseModel):
    """How far to undo or redo."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(1, ge=1, le=MAX_STEPS)


class RevisionOut(BaseModel):
    """One revision: where its image is and the recipe that made it (replayable: params include the seed)."""

    id: str
    parent: str | None
    instruction: str | None
    tool: str | None
    params: dict[str, Any]
    created_at: str
    image_url: str
    check: dict[str, Any] | None = Field(None, description="The self-check's attempts and scores, if it ran.")

    @classmethod
    def of(cls, session_id: str, revision: Revision) -> RevisionOut:
        """The public view of a stored revision."""
        fields = {k: v for k, v in revision.items() if k != "image"}
        return cls(**fields, image_url=f"/v1/sessions/{session_id}/revisions/{revision['id']}/image")


class RevisionsOut(BaseModel):
    """Every revision of a session (a tree: undo then edit branches), the head and the path to it."""

    head: str
    path: list[str] = Field(description="Revision ids from the upload to the head.")
    revisions: list[RevisionOut] = Field(description="Every revision ever made, in creation order.")


class Turn(BaseModel):
    """One line of the conversation."""

    role: Literal["user", "assistant"]
    text: str


class SessionOut(RevisionsOut):
    """A session: its id, revisions, the conversation so far and any edit awaiting a yes or no."""

    id: str = Field(description="128 random bits, then a 128-bit tag binding it to the API key that created it.")
    history: list[Turn]
    confirmation: dict[str, Any] | None


class ReplyOut(BaseModel):
    """What a turn did (also the data of the SSE ``reply`` event)."""

    text: str
    action: Action
    head: str = Field(description="The current revision after the turn.")
    instruction: str | None = None
    tool: str | None = None
    undo_steps: int | None = None
    error: str | None = Field(None, description="Why the decided edit failed (no revision was made).")
    confirmation: dict[str, Any] | None = Field(None, description="The proposal awaiting yes or no.")
    actions: list[str] = Field(default_factory=list, description="Every outcome of the turn, in order.")
