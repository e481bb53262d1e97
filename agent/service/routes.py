"""The /v1 routes: thin; the session does the work, the runner keeps one run per session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.datastructures import UploadFile

from agent.service.auth import Principal, new_session_id
from agent.service.deps import Admissible, OwnedSession, Service, ServiceDep, Spender
from agent.service.errors import ApiError, responses
from agent.service.runs import Events, EventSink, reply_event, sse
from agent.service.schemas import (
    ConfirmationIn,
    MessageIn,
    ReplyOut,
    RevisionOut,
    RevisionsOut,
    SessionOut,
    StepsIn,
    Turn,
)
from agent.session.idempotency import checked_key
from agent.session.refusals import check_message
from agent.session.reply import Reply
from agent.session.session import Session
from graphs.revisions import lineage
from graphs.state import EditState
from tools.images import IMAGE_TYPES

router = APIRouter(prefix="/v1", tags=["sessions"])

UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["image"],
                "properties": {"image": {"type": "string", "format": "binary", "description": "PNG, JPEG or WebP."}},
            }
        }
    },
}
EVENTS = (
    "`step` {node} after each graph node; `progress` {tool, step, total} from a running tool, with "
    "`image_url` on the steps a picture of the unfinished image was taken for; `preview` {image_url, width, "
    "height} when a proposal comes with a cheap preview; "
    "`token` {text} as reply text streams; `revision` {RevisionOut} for each new revision; "
    "then `reply` {ReplyOut}, or `error` {code, message}. Events are numbered by `id`."
)
SESSION_ERRORS = ("unauthorized", "session_not_found", "session_corrupt", "state_store_unavailable")
WORK_ERRORS = (
    *SESSION_ERRORS, "rate_limited", "too_many_runs", "session_busy", "overloaded", "payload_too_large",
    "body_timeout",
)  # fmt: skip
TURN_ERRORS = (*WORK_ERRORS, "idempotency_key_rejected")  # the streamed turns take an Idempotency-Key
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique string per user action; a retry with the same key returns the first result "
        "(the same revision) instead of making a second edit.",
    ),
]


@router.post(
    "/sessions", status_code=201, response_model=SessionOut, openapi_extra={"requestBody": UPLOAD_BODY},
    responses=responses(
        "unauthorized", "rate_limited", "too_many_runs", "overloaded", "payload_too_large", "body_timeout",
        "unsupported_media_type", "image_rejected", "state_store_unavailable",
    ),
)  # fmt: skip
async def create_session(request: Request, svc: ServiceDep, principal: Spender) -> SessionOut:
    """Start a session on an uploaded image (multipart field ``image``).

    The key, the rate limit and room in the queue are checked before the upload is read; its size and
    its deadline as it streams in. Only then, for decoding, does it take a place in the work queue:
    a slow upload holds no slot.
    """
    async with request.form(max_files=1, max_fields=1) as form:
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise ApiError("invalid_request", "send the image as the multipart field 'image'")
        # No declared type, like application/octet-stream, leaves it to the decoder to tell the format.
        if upload.content_type not in (*IMAGE_TYPES, "application/octet-stream", None):
            allowed = ", ".join(IMAGE_TYPES)
            raise ApiError("unsupported_media_type", f"{upload.content_type} is not one of {allowed}")
        data = await upload.read()
    svc.runner.queue.admit(principal.name)  # decoding is real work: it holds a place in the queue
    async with svc.runner.queue.slot(principal.name):
        session = await asyncio.to_thread(svc.engine.open, data, new_session_id(principal))
        return await asyncio.to_thread(session_view, session)


def session_view(session: Session) -> SessionOut:
    """A session's public view, from one read of the saved state."""
    state = session.state()
    revisions = revisions_view(session.id, state)
    history = [Turn(role=role, text=text) for role, text in session.history(state)]  # type: ignore[arg-type]
    confirmation = session.confirmation()  # kept by the engine after the first read
    return SessionOut(**revisions.model_dump(), id=session.id, history=history, confirmation=confirmation)


def revisions_view(session_id: str, state: EditState) -> RevisionsOut:
    """Every revision, the head and the path to it, from one read of the saved state."""
    path = lineage(state["revisions"], state["head"])
    return RevisionsOut(
        head=path[-1]["id"],
        path=[r["id"] for r in path],
        revisions=[RevisionOut.of(session_id, r) for r in state["revisions"]],
    )


@router.get("/sessions/{session_id}", response_model=SessionOut, responses=responses(*SESSION_ERRORS))
def get_session(session: OwnedSession) -> SessionOut:
    """A session's revisions, conversation and pending confirmation (to resume a chat)."""
    return session_view(session)


async def message_turn(
    body: MessageIn, principal: Spender, session: OwnedSession, svc: ServiceDep, key: IdempotencyKey = None
) -> Events:
    """Check the message, then start its turn: before the response starts, so errors keep their status.

    Async like every caller of the runner: the runner's bookkeeping lives on the event loop.
    """
    text = check_message(body.text, svc.engine.limits.max_message_chars)
    key = None if key is None else checked_key(key)
    return start_turn(svc, session, principal, lambda sink: session.send(text, on_event=sink, request_key=key))


async def confirmation_turn(
    body: ConfirmationIn, principal: Spender, session: OwnedSession, svc: ServiceDep, key: IdempotencyKey = None
) -> Events:
    """Start the turn that answers the pending confirmation; 409 if nothing is pending (and no retry's key)."""
    answer = "yes" if body.approve else "no"
    key = None if key is None else checked_key(key)
    retry = key is not None and await asyncio.to_thread(session.replayed, key, answer) is not None
    if not retry and await asyncio.to_thread(session.confirmation) is None:
        raise ApiError("no_pending_confirmation", f"nothing in session {session.id} awaits a yes or no")
    return start_turn(svc, session, principal, lambda sink: session.send(answer, on_event=sink, request_key=key))


def start_turn(svc: Service, session: Session, principal: Principal, turn: Callable[[EventSink], Reply]) -> Events:
    """Start a turn in the runner; each new revision is announced as its edit finishes."""

    def work(sink: EventSink) -> dict[str, Any]:
        def announce(event: dict[str, Any]) -> None:
            if event["kind"] == "revision":
                event = {"kind": "revision", **RevisionOut.of(session.id, event["revision"]).model_dump()}
            sink(svc.previews.public(session.id, event))

        return reply_event(turn(announce))

    return svc.runner.start(session.id, work, principal.name)


@router.post(
    "/sessions/{session_id}/messages", response_class=EventSourceResponse,
    responses={200: {"description": EVENTS}, **responses(*TURN_ERRORS, "message_rejected", streaming=True)},
)  # fmt: skip
async def send_message(events: Annotated[Events, Depends(message_turn)]) -> AsyncIterator[ServerSentEvent]:
    """Send a message; the turn streams back as Server-Sent Events. A pending confirmation takes it as the answer."""
    async for event in sse(events):
        yield event


@router.post(
    "/sessions/{session_id}/confirmation", response_class=EventSourceResponse,
    responses={200: {"description": EVENTS}, **responses(*TURN_ERRORS, "no_pending_confirmation", streaming=True)},
)  # fmt: skip
async def confirm(events: Annotated[Events, Depends(confirmation_turn)]) -> AsyncIterator[ServerSentEvent]:
    """Answer the edit awaiting confirmation (approve applies it, streamed like a message)."""
    async for event in sse(events):
        yield event


@router.post(
    "/sessions/{session_id}/undo", response_model=ReplyOut,
    responses=responses(*WORK_ERRORS, "confirmation_pending"),
)  # fmt: skip
async def undo(
    principal: Spender, session: OwnedSession, svc: ServiceDep, body: Annotated[StepsIn | None, Body()] = None
) -> dict[str, Any]:
    """Undo edits (default one) without asking the dialogue model; the conversation records it."""
    return await move(svc, session, principal, "undo", body or StepsIn())


@router.post(
    "/sessions/{session_id}/redo", response_model=ReplyOut,
    responses=responses(*WORK_ERRORS, "confirmation_pending"),
)  # fmt: skip
async def redo(
    principal: Spender, session: OwnedSession, svc: ServiceDep, body: Annotated[StepsIn | None, Body()] = None
) -> dict[str, Any]:
    """Redo undone edits (default one) without asking the dialogue model."""
    return await move(svc, session, principal, "redo", body or StepsIn())


async def move(
    svc: Service, session: Session, principal: Principal, name: Literal["undo", "redo"], body: StepsIn
) -> dict[str, Any]:
    """Run an undo or redo as the session's one run, and answer with its reply."""

    def work(sink: EventSink) -> dict[str, Any]:
        return reply_event(session.control(name, body.steps))

    return await svc.runner.call(session.id, work, principal.name)


@router.get("/sessions/{session_id}/revisions", response_model=RevisionsOut, responses=responses(*SESSION_ERRORS))
def list_revisions(session: OwnedSession) -> RevisionsOut:
    """Every revision with its recipe (tool, instruction, params with the seed), the head and its path."""
    return revisions_view(session.id, session.state())


@router.get(
    "/sessions/{session_id}/revisions/{revision_id}/image", response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The revision's PNG."},
               **responses(*SESSION_ERRORS, "revision_not_found", "image_missing", "image_corrupt")},
)  # fmt: skip
def revision_image(revision_id: str, session: OwnedSession) -> Response:
    """A revision's image as PNG with its recipe chain (agent.session.provenance); immutable: ETag = pixels' hash."""
    revision = session.revision(revision_id)
    png = session.png(revision["id"])
    headers = {"ETag": f'"{revision["image"]}"', "Cache-Control": "private, max-age=31536000, immutable"}
    return Response(png, media_type="image/png", headers=headers)


@router.delete(
    "/sessions/{session_id}", status_code=204, response_class=Response,
    responses=responses(*SESSION_ERRORS, "session_busy", "too_many_runs", "overloaded"),
)  # fmt: skip
async def delete_session(principal: Admissible, session: OwnedSession, svc: ServiceDep) -> Response:
    """Delete a session's conversation and revision tree (stored images are shared and kept)."""

    def work(sink: EventSink) -> dict[str, Any]:
        svc.engine.delete(session.id)
        return {"kind": "deleted"}

    await svc.runner.call(session.id, work, principal.name)  # holds the session, so no run can start on it meanwhile
    return Response(status_code=204)
