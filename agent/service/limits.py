"""Limits enforced before work: request body size, a token bucket per API key, a bounded work queue."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.service.errors import ApiError, count_refusal, error_response

logger = logging.getLogger(__name__)


class BodyLimit:
    """ASGI middleware that refuses a body over its limit (413) or slower than its deadline (408).

    A declared Content-Length over the limit is answered at once, without reading a byte; a body
    without one (chunked) is counted as it streams in and cut off the moment it passes the limit.
    The whole body must arrive within ``timeout_s`` of the request's start: a per-read timeout
    would let a client trickle one byte a second forever.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int], timeout_s: float) -> None:
        self.app = app
        self.limit_for = limit_for
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413 for an oversized declared body; otherwise run the app with a counting ``receive``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            size = f"{int(declared):,}" if declared.isdigit() else repr(declared.decode("latin-1"))
            await error_response("payload_too_large", too_large(size, limit))(scope, receive, send)
            return
        received, complete = 0, False
        deadline = asyncio.get_running_loop().time() + self.timeout_s

        async def counted() -> Message:
            nonlocal received, complete
            if complete:  # past the body: a streaming response waiting for the client to disconnect
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                why = f"the request body did not arrive within {self.timeout_s:g} s ({received:,} bytes came)"
                raise ApiError("body_timeout", why, {"Connection": "close"}) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the route's body parsing; FastAPI re-raises HTTP errors from there.
                    raise ApiError("payload_too_large", too_large(f"more than {limit:,}", limit))
            return message

        await self.app(scope, counted, send)


def too_large(size: str, limit: int) -> str:
    """The message for a body over the limit."""
    return f"the request body is {size} bytes; the limit is {limit:,} bytes"


@dataclass
class RateLimiter:
    """Token buckets per API key: ``burst`` requests at once, refilled at ``per_minute``."""

    per_minute: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, when)

    def take(self, key: str) -> None:
        """Spend one token of ``key``'s bucket; ApiError rate_limited (with Retry-After) if it is empty."""
        now = self.clock()
        tokens, then = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.per_minute / 60)
        if tokens < 1:
            wait = math.ceil((1 - tokens) * 60 / self.per_minute)
            self._buckets[key] = (tokens, now)
            message = f"more than {self.per_minute:g} requests per minute (burst {self.burst}) for this API key"
            raise ApiError("rate_limited", message, {"Retry-After": str(wait)})
        self._buckets[key] = (tokens - 1, now)


class WorkQueue:
    """Graph runs: ``slots`` execute at once and ``waiting`` more may queue; past that, 503 overloaded.

    One API key may hold at most ``per_key`` places (executing or queued), so a single client cannot
    fill the queue and lock every other key out: its next run is 429 too_many_runs instead.
    """

    def __init__(self, slots: int, waiting: int, retry_after_s: int, per_key: int | None = None) -> None:
        self.slots = slots
        self.capacity = slots + waiting
        self.per_key = per_key if per_key is not None else self.capacity
        self.retry_after_s = retry_after_s
        self.admitted = 0
        self.by_key: dict[str, int] = {}
        self._semaphore = asyncio.Semaphore(slots)

    def check(self, key: str) -> None:
        """Raise what ``admit`` would raise now, reserving nothing: refuse before any work is done."""
        retry = {"Retry-After": str(self.retry_after_s)}
        if self.admitted >= self.capacity:
            message = f"{self.slots} runs are executing and the queue of {self.capacity - self.slots} is full"
            raise ApiError("overloaded", message, retry)
        if self.by_key.get(key, 0) >= self.per_key:
            message = f"this API key already has {self.per_key} runs executing or queued (the limit per key)"
            raise ApiError("too_many_runs", message, retry)

    def admit(self, key: str) -> None:
        """Reserve a place (a slot or the queue) for ``key``; ApiError overloaded or too_many_runs if none is left."""
        self.check(key)
        self.admitted += 1
        self.by_key[key] = self.by_key.get(key, 0) + 1

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Wait for an execution slot for a run ``key`` was admitted for; the place is given back on exit."""
        try:
            async with self._semaphore:
                yield
        finally:
            self.admitted -= 1
            if (left := self.by_key.pop(key) - 1) > 0:
                self.by_key[key] = left


class StorageFaults:
    """ASGI middleware that answers a storage fault raised below it with 503, keeping the connection.

    Starlette's ServerErrorMiddleware answers an error with the app's handler and then re-raises it (so
    servers can log it); uvicorn then closes the connection, and a client's next request on its
    keep-alive connection meets ECONNRESET. A locked, full or unreachable store is no bug: it is
    answered here, inside that middleware, as 503 state_store_unavailable with Retry-After.
    """

    def __init__(self, app: ASGIApp, retry_after_s: int) -> None:
        self.app = app
        self.retry = {"Retry-After": str(retry_after_s)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; a storage fault raised before the response started becomes the 503."""
        from agent.service.health import storage_fault

        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            fault = storage_fault(exc) if scope["type"] == "http" and not started else None
            if fault is None:
                raise
            logger.warning("storage fault on %s %s: %r", scope.get("method"), scope.get("path"), exc)
            count_refusal(scope["app"], "state_store_unavailable")
            await error_response("state_store_unavailable", str(fault), self.retry)(scope, receive, send)
