"""build_server(): the MCP tools and resources, each a thin call into the Session API.

Tools open a session on an image, send a message, answer a confirmation, undo, redo and list
revisions; every reply carries its text, action and head revision (structured content) and the head
image as MCP image content. Resources serve revision images, a session's history and the MCP App
revision widget every tool declares (agent.mcp_server.app_widget). Graph steps and
tool progress are sent as MCP progress notifications. Errors are MCP tool errors whose text is the
message the CLI prints after ``error:``. Session ids are bound to the caller's API key exactly as in
the HTTP service (agent.service.auth), so over HTTP one key never sees another's sessions.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import CallToolResult, ImageContent, TextContent

from agent.mcp_server.app_widget import MCP_APP_MIME, RESOURCE_META, TOOL_META, WIDGET_URI, widget_html
from agent.service.auth import DEV_KEY, KeyRing, Principal, new_session_id, owns
from agent.service.errors import ApiError
from agent.service.health import storage_fault
from agent.service.limits import RateLimiter
from agent.session.engine import Engine
from agent.session.refusals import SessionNotFound
from agent.session.reply import Reply
from agent.session.session import Session
from graphs.revisions import lineage
from tools.errors import DialogPaintError, ImageStoreUnavailable

logger = logging.getLogger(__name__)

URI = "dialogpaint://sessions/{session_id}"
INSTRUCTIONS = (
    "Edit images through conversation. open_session on an image, then send_message with what the user wants; "
    "if the action is 'clarify', or 'clarify' is among the actions (edits ran, then a question about the rest of "
    "the request), ask the user the reply's question; if it is 'confirm', ask the user and call "
    "answer_confirmation. undo and redo move through the edits; nothing is lost."
)
OnEvent = Callable[[dict[str, Any]], None]
HTTP_PATHS = (
    "image_path is for the local (stdio) server only; over HTTP send the image as image_base64, "
    "or a dialogpaint://sessions/ID/revisions/ID resource_uri of your own"
)


@dataclass(frozen=True)
class Access:
    """Who may call: the keys (none: every caller is the local dev principal) and the per-key rate limit."""

    keys: KeyRing
    limiter: RateLimiter | None = None

    def principal(self, headers: Mapping[str, str] | None) -> Principal:
        """The caller of an HTTP request (its bearer key), or the local principal over stdio."""
        if headers is None:
            return Principal("stdio", DEV_KEY)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return self.keys.authenticate(token if scheme.lower() == "bearer" else None)


def message_of(exc: BaseException) -> str:
    """The message for the caller: the CLI's text after ``error:`` for our errors (an ApiError keeps it in
    ``detail``; a store fault names no endpoint), a storage fault's reason, and for a bug only that it
    was logged (the traceback stays on the server).
    """
    if isinstance(exc, ApiError):
        return str(exc.detail)
    if isinstance(exc, ImageStoreUnavailable):
        return exc.public
    if isinstance(exc, DialogPaintError):
        return str(exc)
    if (fault := storage_fault(exc)) is not None:
        return str(fault)
    logger.exception("unexpected error in an MCP call", exc_info=exc)
    return "internal error; it has been logged"


class Calls:
    """The tools and resources, over one engine; each runs its Session call in a worker thread."""

    def __init__(self, engine: Engine, access: Access) -> None:
        self.engine = engine
        self.access = access

    async def open_session(
        self,
        ctx: Context,
        image_path: str | None = None,
        image_base64: str | None = None,
        resource_uri: str | None = None,
    ) -> CallToolResult:
        """Start an editing session on an image: base64 PNG/JPEG/WebP bytes, a dialogpaint:// revision
        resource, or (local stdio server only) a file path. Returns the session id; pass it to the other tools.
        """
        local = ctx.headers is None  # stdio: the caller is the server's own user; HTTP: a remote key holder

        def work(principal: Principal) -> CallToolResult:
            if sum(v is not None for v in (image_path, image_base64, resource_uri)) != 1:
                raise DialogPaintError("give exactly one of image_path, image_base64 or resource_uri")
            if image_path is not None and not local:
                # A path would read any image file this server can, and its errors would tell a remote
                # caller which files exist: over HTTP only bytes and the caller's own revisions come in.
                raise DialogPaintError(HTTP_PATHS)
            source = self.image_source(principal, image_path, image_base64, resource_uri)
            opened = self.engine.open(source, new_session_id(principal))
            return self.result(opened, None, f"Session {opened.id} is open. What would you like to change?")

        return await self.call(ctx, work, spends=True)

    async def send_message(self, ctx: Context, session_id: str, text: str) -> CallToolResult:
        """Say something about the image ("make it brighter", "undo that"); a yes or no answers a proposed
        edit. Returns the reply, its action (edit, clarify, confirm, undo, redo, chat) and the current image.
        """
        on_event = self.progress(ctx)
        return await self.call(ctx, lambda p: self.turn(self.session(p, session_id), text, on_event), spends=True)

    async def answer_confirmation(self, ctx: Context, session_id: str, approve: bool) -> CallToolResult:
        """Apply (approve true) or discard the edit the session proposed and awaits a yes or no for."""
        on_event = self.progress(ctx)

        def work(principal: Principal) -> CallToolResult:
            answering = self.session(principal, session_id)
            if answering.confirmation() is None:
                raise DialogPaintError(f"nothing in session {session_id} awaits a yes or no")
            return self.turn(answering, "yes" if approve else "no", on_event)

        return await self.call(ctx, work, spends=True)

    async def undo(self, ctx: Context, session_id: str, steps: int = 1) -> CallToolResult:
        """Undo edits (default one); nothing is deleted, redo brings them back."""
        return await self.call(ctx, lambda p: self.moved(self.session(p, session_id), "undo", steps), spends=True)

    async def redo(self, ctx: Context, session_id: str, steps: int = 1) -> CallToolResult:
        """Redo undone edits (default one)."""
        return await self.call(ctx, lambda p: self.moved(self.session(p, session_id), "redo", steps), spends=True)

    async def list_revisions(self, ctx: Context, session_id: str) -> CallToolResult:
        """Every revision with its recipe (tool, instruction, params with the seed), the head and the path to
        it; each revision's image is the resource dialogpaint://sessions/{session_id}/revisions/{revision_id}.
        """

        def work(principal: Principal) -> CallToolResult:
            listing = revisions(self.session(principal, session_id))
            return CallToolResult(
                content=[TextContent(type="text", text=json.dumps(listing))], structured_content=listing
            )

        return await self.call(ctx, work)

    async def revision_image(self, session_id: str, revision_id: str, ctx: Context) -> bytes:
        """A revision's image as PNG."""
        try:
            principal = self.access.principal(ctx.headers)
            return await anyio.to_thread.run_sync(self.revision_png, principal, session_id, revision_id)
        except Exception as exc:  # the boundary: every error becomes the caller's one-line message
            raise ResourceError(message_of(exc)) from exc

    async def history(self, session_id: str, ctx: Context) -> str:
        """The conversation as [{role, text}] and any edit awaiting a yes or no."""

        def read(principal: Principal) -> str:
            talked = self.session(principal, session_id)
            turns = [{"role": role, "text": text} for role, text in talked.history()]
            return json.dumps({"history": turns, "confirmation": talked.confirmation()})

        try:
            return await anyio.to_thread.run_sync(read, self.access.principal(ctx.headers))
        except Exception as exc:  # the boundary: every error becomes the caller's one-line message
            raise ResourceError(message_of(exc)) from exc

    async def call(
        self, ctx: Context, work: Callable[[Principal], CallToolResult], spends: bool = False
    ) -> CallToolResult:
        """Authenticate, spend a rate-limit token if the call starts work, run ``work`` in a thread;
        the boundary where errors become MCP tool errors, whose text is exactly the CLI's message
        (raising ToolError would make the SDK prefix it with "Error executing tool").
        """
        try:
            principal = self.access.principal(ctx.headers)
            if spends and self.access.limiter is not None:
                self.access.limiter.take(principal.name)
            return await anyio.to_thread.run_sync(work, principal)
        except Exception as exc:  # the boundary: never the SDK's bare "Error executing tool"
            return CallToolResult(content=[TextContent(type="text", text=message_of(exc))], is_error=True)

    def session(self, principal: Principal, session_id: str) -> Session:
        """The caller's session; another key's reads exactly like a missing one."""
        if not owns(principal, session_id):
            raise SessionNotFound(f"no session {session_id!r} in this data directory")
        return self.engine.resume(session_id)

    def image_source(self, principal: Principal, path: str | None, data: str | None, uri: str | None) -> bytes | Path:
        """The image to open, from whichever of the three was given."""
        if path is not None:
            return Path(path)
        if data is not None:
            try:
                return base64.b64decode(data, validate=True)
            except binascii.Error:
                raise DialogPaintError("image_base64 is not valid base64") from None
        prefix, _, rest = str(uri).partition("dialogpaint://sessions/")
        session_id, _, revision_id = rest.partition("/revisions/")
        if prefix or not session_id or not revision_id:
            raise DialogPaintError(f"{uri!r} is not a dialogpaint://sessions/ID/revisions/ID resource")
        return self.revision_png(principal, session_id, revision_id)

    def revision_png(self, principal: Principal, session_id: str, revision_id: str) -> bytes:
        """The stored PNG of one of the caller's revisions."""
        revision = self.session(principal, session_id).revision(revision_id)
        return self.engine.deps.store.get(revision["image"])

    def progress(self, ctx: Context) -> OnEvent:
        """A Session event handler that sends steps and tool progress as MCP progress notifications."""
        count = 0

        def on_event(event: dict[str, Any]) -> None:  # called in the worker thread running the turn
            nonlocal count
            if event["kind"] == "step":
                count += 1
                anyio.from_thread.run(ctx.report_progress, count, None, f"step {event['node']}")
            elif event["kind"] == "progress":
                message = f"{event['tool']} {event['step']}/{event['total']}"
                anyio.from_thread.run(ctx.report_progress, event["step"], event["total"], message)

        return on_event

    def turn(self, session: Session, text: str, on_event: OnEvent) -> CallToolResult:
        """One message through the Session API."""
        return self.result(session, session.send(text, on_event=on_event))

    def moved(self, session: Session, name: Literal["undo", "redo"], steps: int) -> CallToolResult:
        """An undo or redo through the Session API."""
        return self.result(session, session.control(name, steps))

    def result(self, session: Session, reply: Reply | None, opening: str = "") -> CallToolResult:
        """The reply text and head image as content; the facts (action, head, ...) as structured content."""
        head = session.head
        facts: dict[str, Any] = {"session_id": session.id, "head": head["id"]}
        if reply is not None:  # 'clarify' among the actions: a question awaits the user's answer
            facts |= {"text": reply.text, "action": reply.action, "instruction": reply.instruction,
                      "tool": reply.tool, "error": reply.error, "actions": list(reply.actions)}  # fmt: skip
        png = self.engine.deps.store.get(head["image"])
        content = [
            TextContent(type="text", text=reply.text if reply is not None else opening),
            ImageContent(type="image", data=base64.b64encode(png).decode(), mime_type="image/png"),
        ]
        return CallToolResult(content=content, structured_content=facts)


def build_server(engine: Engine, access: Access) -> MCPServer:
    """The dialogpaint MCP server over an engine (which stays the caller's to close)."""
    calls = Calls(engine, access)
    mcp = MCPServer("dialogpaint", instructions=INSTRUCTIONS)
    for tool in (calls.open_session, calls.send_message, calls.answer_confirmation, calls.undo, calls.redo):
        mcp.tool(meta=TOOL_META)(tool)
    mcp.tool(meta=TOOL_META)(calls.list_revisions)
    mcp.resource(WIDGET_URI, name="revisions", mime_type=MCP_APP_MIME, meta=RESOURCE_META)(widget_html)
    mcp.resource(f"{URI}/revisions/{{revision_id}}", mime_type="image/png")(calls.revision_image)
    mcp.resource(f"{URI}/history", mime_type="application/json")(calls.history)
    return mcp


def revisions(session: Session) -> dict[str, Any]:
    """The revision listing (as the HTTP service's, with resource URIs instead of URLs)."""
    state = session.state()
    base = URI.format(session_id=session.id)
    return {
        "head": state["head"],
        "path": [r["id"] for r in lineage(state["revisions"], state["head"])],
        "revisions": [
            {**{k: v for k, v in r.items() if k != "image"}, "uri": f"{base}/revisions/{r['id']}"}
            for r in state["revisions"]
        ],
    }
