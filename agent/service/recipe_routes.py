"""The replay route: rebuild a revision from the original through its recipe chain, as the session's one run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from agent.service.deps import OwnedSession, ServiceDep, Spender
from agent.service.errors import responses
from agent.service.routes import WORK_ERRORS
from agent.service.runs import EventSink

router = APIRouter(prefix="/v1", tags=["sessions"])


class ReplayIn(BaseModel):
    """Which revision to rebuild."""

    model_config = ConfigDict(extra="forbid")

    revision: str | None = Field(None, max_length=64, description="A revision id; default: the current one.")


class ReplayOut(BaseModel):
    """What a replay rebuilt, and whether it is bit for bit the recorded image."""

    revision: str
    steps: int = Field(description="Edits re-run from the original.")
    image: str = Field(description="sha256 of the rebuilt image's PNG (the store key it would have).")
    expected: str = Field(description="sha256 the revision recorded.")
    matches: bool


@router.post(
    "/sessions/{session_id}/replay", response_model=ReplayOut,
    responses=responses(*WORK_ERRORS, "revision_not_found", "image_missing", "image_corrupt"),
)  # fmt: skip
async def replay(
    principal: Spender, session: OwnedSession, svc: ServiceDep, body: Annotated[ReplayIn | None, Body()] = None
) -> dict[str, Any]:
    """Re-run a revision's recipe chain on the original image; nothing is added to the session."""
    wanted = (body or ReplayIn()).revision

    def work(sink: EventSink) -> dict[str, Any]:
        revision = session.revision(wanted)["id"]
        done = session.replay(revision)
        out = ReplayOut(
            revision=revision, steps=done.steps, image=done.key, expected=done.expected, matches=done.matches
        )
        return out.model_dump()

    return await svc.runner.call(session.id, work, principal.name)
