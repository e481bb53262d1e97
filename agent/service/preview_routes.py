"""The routes around a running or proposed edit: its preview images, and cancelling it."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from agent.service.deps import OwnedSession, ServiceDep
from agent.service.errors import ApiError, responses
from agent.service.routes import SESSION_ERRORS

router = APIRouter(prefix="/v1", tags=["sessions"])


class CancelOut(BaseModel):
    """Whether a run was going on to cancel."""

    cancelled: bool = Field(description="True: the running edit stops at its next step and makes no revision.")


@router.get(
    "/sessions/{session_id}/previews/{key}", response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The preview PNG."},
               **responses(*SESSION_ERRORS, "preview_not_found", "image_missing", "image_corrupt")},
)  # fmt: skip
def preview_image(key: str, session: OwnedSession, svc: ServiceDep) -> Response:
    """A preview shown with a proposal, or a step picture of a running edit (``preview`` and ``progress`` events)."""
    pending = session.confirmation()
    proposed = pending is not None and "preview" in pending and pending["preview"]["image"] == key
    if not (proposed or svc.previews.shown(session.id, key)):
        raise ApiError("preview_not_found", f"session {session.id} was shown no preview {key!r:.80}")
    headers = {"ETag": f'"{key}"', "Cache-Control": "private, max-age=31536000, immutable"}
    return Response(svc.engine.deps.store.get(key), media_type="image/png", headers=headers)


@router.post("/sessions/{session_id}/cancel", response_model=CancelOut, responses=responses(*SESSION_ERRORS))
def cancel(session: OwnedSession) -> CancelOut:
    """Stop the session's running edit at its next step; it then makes no revision (false: nothing was running)."""
    return CancelOut(cancelled=session.cancel())
