"""An OpenAI-compatible ``/v1/chat/completions`` (streamed and not) and the signed image route its replies link to.

Any OpenAI-compatible chat UI can use dialogpaint as a "model". It sends the whole conversation each
time; only the last user message is new: its text is the turn, and an image it carries (an
``image_url`` part, see ``agent.session.chat_content``) starts a new session on that image. The
session id is carried by ``conversation_id`` in the body when the client sends one, else by the
invisible markdown reference ``[dialogpaint-session]: /v1/sessions/<id>`` that every reply ends with
and the UI sends back in the history. The head image comes back as a markdown image whenever the
turn moved it. Every request goes through the service's key, rate limit, work queue and per-session
run (``Runner``), like ``/v1/sessions``; a session belongs to the key that created it.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from agent.service.auth import Principal, new_session_id, owns
from agent.service.deps import Caller, Service, ServiceDep, Spender
from agent.service.errors import ApiError, responses
from agent.service.runs import EventSink, reply_event
from agent.session.chat_content import IMAGE_ROUTE, image_link, revision_markdown, signature_ok, split_content
from agent.session.refusals import SessionNotFound, check_message
from agent.session.session import Session
from graphs.storage.store import check_key
from tools.errors import ImageNotFound

router = APIRouter(tags=["openai-compatible"])

MARKER = re.compile(r"^\[dialogpaint-session\]: /v1/sessions/([A-Za-z0-9_.-]{1,200})\s*$", re.MULTILINE)
MOVES_HEAD = ("edit", "undo", "redo", "forget", "rerender")
NEW_IMAGE = "I have your image. What would you like me to change?"


class ChatMessageIn(BaseModel):
    """One message of the conversation a chat UI sends (OpenAI format); other fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionIn(BaseModel):
    """An OpenAI chat-completion request; sampling fields are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = "dialogpaint"
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=10_000)
    stream: bool = False
    conversation_id: str | None = Field(None, description="The session to continue (else the reply marker).")


def carried_session(body: ChatCompletionIn) -> str | None:
    """The session the conversation continues: the body's conversation_id, else the latest reply's marker."""
    if body.conversation_id:
        return body.conversation_id
    for message in reversed(body.messages):
        if (
            message.role == "assistant"
            and isinstance(message.content, str)
            and (found := MARKER.search(message.content))
        ):
            return found.group(1)
    return None


def reply_content(session: Session, reply_text: str, head_moved: bool, link: tuple[str, bytes | None]) -> str:
    """The assistant message: the reply, the head image when it moved, and the session marker."""
    parts = [reply_text]
    if head_moved:
        revision = session.head
        parts.append(revision_markdown(revision, image_link(link[0], link[1], revision["image"])))
    parts.append(f"[dialogpaint-session]: /v1/sessions/{session.id}")
    return "\n\n".join(parts)


@router.get("/v1/models", responses=responses("unauthorized"))
async def models(principal: Caller) -> dict[str, Any]:
    """The one "model" this service is, for chat UIs that list models before they chat."""
    return {
        "object": "list",
        "data": [{"id": "dialogpaint", "object": "model", "created": 0, "owned_by": "dialogpaint"}],
    }


@router.post(
    "/v1/chat/completions",
    responses=responses(
        "unauthorized", "session_not_found", "rate_limited", "too_many_runs", "session_busy", "overloaded",
        "payload_too_large", "image_rejected", "message_rejected",
    ),
)  # fmt: skip
async def chat_completions(body: ChatCompletionIn, request: Request, principal: Spender, svc: ServiceDep) -> Response:
    """One turn of a session as an OpenAI chat completion (``stream``: as ``chat.completion.chunk`` events)."""
    last = body.messages[-1]
    if last.role != "user":
        raise ApiError("invalid_request", f"the last message must be the user's, not {last.role!r}")
    text, images = await asyncio.to_thread(split_content, last.content or "")  # base64 of up to max_upload_bytes
    link = (svc.public_url or str(request.base_url).rstrip("/"), principal.secret if not svc.keys.dev_mode else None)
    if images:
        session = await open_session(svc, principal, images[0])
        if not text.strip():
            content = await asyncio.to_thread(reply_content, session, NEW_IMAGE, True, link)
            return answer(body, content, stream=body.stream)
    elif (sid := carried_session(body)) is not None:
        session = await asyncio.to_thread(owned, svc, principal, sid)
    else:
        raise ApiError("invalid_request", "attach an image (an image_url part) to the first message to start")
    text = check_message(text, svc.engine.limits.max_message_chars)
    started = not images  # a new image's session shows its first image with the first reply

    def work(sink: EventSink) -> dict[str, Any]:
        reply = session.send(text, on_event=sink)
        moved = (reply.action in MOVES_HEAD and reply.error is None) or not started
        return {**reply_event(reply), "content": reply_content(session, reply.text, moved, link)}

    if not body.stream:
        final = await svc.runner.call(session.id, work, principal.name)
        return answer(body, final["content"], stream=False)
    events = svc.runner.start(session.id, work, principal.name)
    return StreamingResponse(chunks(body.model, events), media_type="text/event-stream")


async def open_session(svc: Service, principal: Principal, image: bytes) -> Session:
    """A new session on the image, decoded in a work-queue slot (as ``POST /v1/sessions``)."""
    svc.runner.queue.admit(principal.name)
    async with svc.runner.queue.slot(principal.name):
        return await asyncio.to_thread(svc.engine.open, image, new_session_id(principal))


def owned(svc: Service, principal: Principal, session_id: str) -> Session:
    """The caller's session (another key's answers like a missing one)."""
    if owns(principal, session_id):
        try:
            session: Session = svc.engine.resume(session_id)
            return session
        except SessionNotFound:
            pass
    raise ApiError("session_not_found", f"no session {session_id!r} for this API key")


def completion(model: str, content: str) -> dict[str, Any]:
    """A whole chat completion."""
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    return {**_head(model, "chat.completion"), "choices": [choice]}


def chunk(model: str, delta: dict[str, Any], finish: Literal["stop"] | None = None, ident: str = "") -> str:
    """One ``chat.completion.chunk`` as an SSE data line."""
    body = {
        **_head(model, "chat.completion.chunk", ident),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


def _head(model: str, kind: str, ident: str = "") -> dict[str, Any]:
    return {
        "id": ident or "chatcmpl-" + secrets.token_hex(12),
        "object": kind,
        "created": int(time.time()),
        "model": model,
    }


def answer(body: ChatCompletionIn, content: str, *, stream: bool) -> Response:
    """A reply made without a run (a new image and no words), whole or as one streamed chunk."""
    if not stream:
        return Response(json.dumps(completion(body.model, content)), media_type="application/json")

    async def one() -> AsyncIterator[str]:
        yield chunk(body.model, {"role": "assistant", "content": content})
        yield chunk(body.model, {}, "stop")
        yield "data: [DONE]\n\n"

    return StreamingResponse(one(), media_type="text/event-stream")


async def chunks(model: str, events: asyncio.Queue[dict[str, Any] | None]) -> AsyncIterator[str]:
    """A run's events as completion chunks: streamed reply tokens, then the rest of the content."""
    ident = "chatcmpl-" + secrets.token_hex(12)
    yield chunk(model, {"role": "assistant", "content": ""}, ident=ident)
    said = ""
    while (event := await events.get()) is not None:
        if event["kind"] == "token":
            said += event["text"]
            yield chunk(model, {"content": event["text"]}, ident=ident)
        elif event["kind"] == "error":
            yield f"data: {json.dumps({'error': {'code': event['code'], 'message': event['message']}})}\n\n"
        elif event["kind"] == "reply":
            content = event["content"]
            rest = content[len(said) :] if content.startswith(said) else "\n\n" + content
            yield chunk(model, {"content": rest}, "stop", ident=ident)
    yield "data: [DONE]\n\n"


@router.get(
    IMAGE_ROUTE + "/{key}.png", response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The PNG."},
               **responses("unauthorized", "image_not_found")},
)  # fmt: skip
def signed_image(key: str, svc: ServiceDep, sig: str | None = None) -> Response:
    """An image a chat reply links to, by its store key and the link's signature (an <img> sends no key)."""
    if not signature_ok(svc.keys.secrets, key, sig):  # a plain function: FastAPI runs it in a worker thread
        raise ApiError("unauthorized", "the image link's signature is missing or wrong")
    try:
        png = svc.engine.deps.store.get(check_key(key))
    except ImageNotFound as exc:
        raise ApiError("image_not_found", str(exc)) from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=31536000, immutable"})
