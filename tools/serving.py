"""ToolApp: a plain ASGI app that serves one EditTool over HTTP, following the contract in tools.wire.

No web framework: the app runs under any ASGI server (``dialogpaint serve-tool`` uses uvicorn) and
can be the ingress of a Ray Serve deployment (``serve.ingress`` accepts an ASGI app or a builder).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import BaseModel, ValidationError

from tools.base import EditTool, check_result
from tools.errors import (
    EditFailed,
    ImageCorrupt,
    ImageMissing,
    ImageNotFound,
    ImageRejected,
    InvalidEditRequest,
    StateStoreUnavailable,
    ToolUnavailable,
    brief_errors,
)
from tools.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, IMAGE_TYPES, decode_image, encode_png
from tools.wire import (
    IMAGE_KEY_HEADER,
    MAX_PARAMS_HEADER_BYTES,
    PARAMS_HEADER,
    SEED_HEADER,
    EditedKey,
    SharedStore,
    error_body,
    tool_info,
    wire_png,
)

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class HTTPError(Exception):
    """A request the app answers with an error status and a JSON message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


class ToolApp:
    """Serves one tool: ``GET /healthz``, ``GET /v1/tool``, ``POST /v1/edit``."""

    def __init__(
        self,
        tool: EditTool,
        *,
        max_body_bytes: int = DEFAULT_MAX_BYTES,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        concurrency: int = 1,
        store: SharedStore | None = None,
    ) -> None:
        """Serve ``tool``.

        Args:
            max_body_bytes: the largest accepted request body; larger ones get 413 before they are read.
            max_pixels: the largest accepted image, checked from its header before decoding.
            concurrency: edits run at once in worker threads; 1 suits a GPU tool, whose model is
                neither thread-safe nor faster when shared.
            store: a shared image store; with it, edits may name their image by key (tools.wire).
        """
        self.tool = tool
        self.max_body_bytes = max_body_bytes
        self.max_pixels = max_pixels
        self.store = store
        self.info = tool_info(tool, store.name if store else None).model_dump_json().encode()
        self._concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None  # made inside the server's event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"ToolApp serves HTTP only, not {scope['type']}")
        try:
            status, content_type, body = await self.route(scope, receive)
        except HTTPError as exc:
            if exc.status >= 500:
                logger.warning("%s %s -> %d: %s", scope["method"], scope["path"], exc.status, exc)
            status, content_type = exc.status, "application/json"
            body = json.dumps(error_body(exc.kind, str(exc))).encode()
        await respond(send, status, content_type, body)

    async def route(self, scope: Scope, receive: Receive) -> tuple[int, str, bytes]:
        """Dispatch by path and method; HTTPError for anything else."""
        routes: dict[str, tuple[str, Callable[[], Awaitable[tuple[int, str, bytes]]]]] = {
            "/healthz": ("GET", self.health),
            "/v1/tool": ("GET", self.describe),
            "/v1/edit": ("POST", lambda: self.edit(scope, receive)),
        }
        # Mounted under a prefix (a Ray Serve route_prefix), the path starts with the ASGI root_path.
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        if path not in routes:
            raise HTTPError(404, "not_found", f"no route {path}; try GET /v1/tool")
        method, handler = routes[path]
        if scope["method"] != method:
            raise HTTPError(405, "method_not_allowed", f"{path} takes {method}, not {scope['method']}")
        return await handler()

    async def health(self) -> tuple[int, str, bytes]:
        """Liveness: the process answers and names its tool."""
        return 200, "application/json", json.dumps({"status": "ok", "tool": self.tool.name}).encode()

    async def describe(self) -> tuple[int, str, bytes]:
        """The tool's name, description, Params schema and capabilities."""
        return 200, "application/json", self.info

    async def edit(self, scope: Scope, receive: Receive) -> tuple[int, str, bytes]:
        """Decode the image, validate params, run the tool in a worker thread, answer the PNG."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get(IMAGE_KEY_HEADER)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if key is None and content_type not in IMAGE_TYPES:
            raise HTTPError(415, "unsupported_media_type", f"send the image as {', '.join(IMAGE_TYPES)}")
        params = self.parse_params(headers.get(PARAMS_HEADER, "{}"))
        seed = parse_seed(headers.get(SEED_HEADER, "0"))
        data = await read_body(receive, headers, self.max_body_bytes)
        if key is not None:
            data = await asyncio.to_thread(self.stored, key)
        try:
            image = decode_image(data, max_pixels=self.max_pixels, max_bytes=self.max_body_bytes)
        except ImageRejected as exc:
            raise HTTPError(400, "image_rejected", str(exc)) from None
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._concurrency)
        start = time.perf_counter()
        async with self._slots:
            result = await asyncio.to_thread(self.run_tool, image, params, seed)
        if key is not None:
            answer = EditedKey(image=await asyncio.to_thread(self.store_result, self.store, result))
            logger.info(
                "edit %s %s -> %s in %.3fs", self.tool.name, key[:12], answer.image[:12], time.perf_counter() - start
            )
            return 200, "application/json", answer.model_dump_json().encode()
        png = wire_png(result)
        logger.info(
            "edit %s %dx%d in %.3fs, %d bytes out", self.tool.name, *image.size, time.perf_counter() - start, len(png)
        )
        return 200, "image/png", png

    def stored(self, key: str) -> bytes:
        """The bytes of the image an edit names by key, read from the shared store."""
        if self.store is None:
            raise HTTPError(
                400,
                "bad_request",
                f"this server has no image store: send the image as the body, not {IMAGE_KEY_HEADER}",
            )
        try:
            return self.store.get(key)
        except ImageMissing as exc:
            raise HTTPError(404, "image_missing", str(exc)) from None
        except ImageCorrupt as exc:
            raise HTTPError(500, "image_corrupt", str(exc)) from None
        except ImageNotFound as exc:
            raise HTTPError(400, "bad_request", str(exc)) from None
        except StateStoreUnavailable as exc:
            raise HTTPError(503, "unavailable", str(exc)) from None

    def store_result(self, store: SharedStore | None, image: Any) -> str:
        """Store an edited image canonically in the shared store; its key."""
        if store is None:  # stored() refused the request already
            raise HTTPError(400, "bad_request", "this server has no image store")
        try:
            return store.put(encode_png(image))
        except StateStoreUnavailable as exc:
            raise HTTPError(503, "unavailable", str(exc)) from None

    def parse_params(self, raw: str) -> BaseModel:
        """The tool's Params from the header's JSON."""
        if len(raw) > MAX_PARAMS_HEADER_BYTES:
            raise HTTPError(400, "bad_request", f"{PARAMS_HEADER} is over {MAX_PARAMS_HEADER_BYTES} bytes")
        try:
            return self.tool.Params.model_validate_json(raw)
        except ValidationError as exc:
            problems = brief_errors(exc, whole="params")
            raise HTTPError(422, "invalid_params", f"invalid arguments for {self.tool.name}: {problems}") from None

    def run_tool(self, image: Any, params: BaseModel, seed: int) -> Any:
        """Check and run the tool; its errors become HTTP errors (this is the service's boundary)."""
        try:
            self.tool.check_inputs(image, params)
            result = check_result(self.tool.name, self.tool(image, params, seed=seed))
        except InvalidEditRequest as exc:
            raise HTTPError(422, "invalid_request", str(exc)) from None
        except ToolUnavailable as exc:
            raise HTTPError(503, "unavailable", str(exc)) from None
        except EditFailed as exc:
            raise HTTPError(500, "edit_failed", str(exc)) from None
        except Exception as exc:
            logger.exception("tool %s crashed", self.tool.name)
            raise HTTPError(500, "crashed", f"the {self.tool.name} tool crashed ({type(exc).__name__})") from None
        return result


def parse_seed(raw: str) -> int:
    """The seed header as a non-negative int."""
    if not raw.isdigit() or int(raw) >= 2**63:
        raise HTTPError(400, "bad_request", f"{SEED_HEADER} must be a non-negative integer, got {raw[:40]!r}")
    return int(raw)


async def read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPError(413, "too_large", f"the body is {int(declared):,} bytes; the limit is {limit:,} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPError(400, "bad_request", "the client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, "too_large", f"the body is over the limit of {limit:,} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Send, status: int, content_type: str, body: bytes) -> None:
    """Send one complete response."""
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge startup and shutdown; tools load their models lazily, on the first edit."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
