"""Limits enforced before work: request body size, a token bucket per API key, a bounded work queue."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.service.errors import ApiError, error_response


class BodyLimit:
    """ASGI middleware that refuses a body over its limit before the app parses it (413).

    A declared Content-Length over the limit is answered at once, without reading a byte; a body
    without one (chunked) is counted as it streams in and cut off the moment it passes the limit.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit_for = limit_for

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
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
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
    """Graph runs: ``slots`` execute at once and ``waiting`` more may queue; past that, 503 overloaded."""

    def __init__(self, slots: int, waiting: int, retry_after_s: int) -> None:
        self.slots = slots
        self.capacity = slots + waiting
        self.retry_after_s = retry_after_s
        self.admitted = 0
        self._semaphore = asyncio.Semaphore(slots)

    def admit(self) -> None:
        """Reserve a place (a slot or the queue); ApiError overloaded if none is left."""
        if self.admitted >= self.capacity:
            message = f"{self.slots} runs are executing and the queue of {self.capacity - self.slots} is full"
            raise ApiError("overloaded", message, {"Retry-After": str(self.retry_after_s)})
        self.admitted += 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for an execution slot for an admitted run; the place is given back on exit."""
        try:
            async with self._semaphore:
                yield
        finally:
            self.admitted -= 1
