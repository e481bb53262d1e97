"""Graph runs off the event loop: one per session at a time, through the work queue, events streamed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.sse import ServerSentEvent

from agent.service.errors import CODES, ApiError, domain_error
from agent.service.health import storage_fault
from agent.service.limits import WorkQueue
from agent.service.metrics import ServiceMetrics
from agent.service.schemas import ReplyOut
from agent.session.lock import SessionBusyElsewhere, SharedLock
from agent.session.reply import Reply
from tools.errors import DialogPaintError

logger = logging.getLogger(__name__)

EventSink = Callable[[dict[str, Any]], None]
Work = Callable[[EventSink], dict[str, Any]]  # runs in a worker thread; returns the final "reply" event
Events = asyncio.Queue[dict[str, Any] | None]  # a run's events, then None


class Runner:
    """Starts runs in worker threads, at most one per session, each holding a place in the work queue.

    The run, not the HTTP response, owns the session: a client that disconnects mid-stream does not
    cut the run short or leave the session marked busy; the turn completes and is saved.
    """

    def __init__(
        self, queue: WorkQueue, shared_lock: SharedLock | None = None, metrics: ServiceMetrics | None = None
    ) -> None:
        """Run through ``queue``; ``shared_lock`` keeps one run per session across replicas too; ``metrics``
        counts each run's end.
        """
        self.queue = queue
        self.shared_lock = shared_lock
        self.metrics = metrics
        self.active: dict[str, asyncio.Task[None]] = {}

    def start(self, session_id: str, work: Work, key: str, *, streamed: bool = True) -> Events:
        """Start ``work`` for the session on behalf of API key ``key``; its events, then the reply (or an
        error), then None, arrive on the queue.

        Raises ApiError session_busy if the session has a run, overloaded if the queue is full,
        too_many_runs if the key holds its share of it. ``streamed``: the events are the response (an
        error event is then the refusal the metrics count; else the caller's error response is).
        """
        if session_id in self.active:
            raise ApiError("session_busy", f"session {session_id} is still handling the previous request")
        self.hold_shared(session_id)
        try:
            self.queue.admit(key)
        except BaseException:
            self.release_shared(session_id)
            raise
        events: Events = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def sink(event: dict[str, Any]) -> None:  # called from the worker thread
            loop.call_soon_threadsafe(events.put_nowait, event)

        async def execute() -> None:
            try:
                async with self.queue.slot(key):
                    final = await asyncio.to_thread(work, sink)
                    self.count(final, streamed)
                    events.put_nowait(final)
            except DialogPaintError as exc:
                error = domain_error(exc)
                self.count({"kind": "error", "code": error.code}, streamed)
                events.put_nowait({"kind": "error", "code": error.code, "message": error.detail})
            except Exception as exc:  # the boundary of a run: log the bug, tell the client only that it happened
                if (fault := storage_fault(exc)) is not None:
                    logger.warning("run in session %s hit a storage fault: %r", session_id, exc)
                    self.count({"kind": "error", "code": "state_store_unavailable"}, streamed)
                    events.put_nowait({"kind": "error", "code": "state_store_unavailable", "message": str(fault)})
                else:
                    logger.exception("run in session %s failed", session_id)
                    self.count({"kind": "error", "code": "internal_error"}, streamed)
                    events.put_nowait({"kind": "error", "code": "internal_error", "message": "internal error; logged"})
            finally:
                del self.active[session_id]
                self.release_shared(session_id)
                events.put_nowait(None)

        self.active[session_id] = loop.create_task(execute())
        return events

    def count(self, final: dict[str, Any], streamed: bool) -> None:
        """Count a run's end: a reply by its action (failed when its edit failed), an error by its code."""
        if self.metrics is None:
            return
        if final.get("kind") == "reply":
            self.metrics.turn(str(final.get("action")), "failed" if final.get("error") else "ok")
            return
        code = str(final.get("code"))
        self.metrics.turn("none", code)
        if streamed and CODES.get(code, (500,))[0] in (429, 503):
            self.metrics.refused(code)

    def hold_shared(self, session_id: str) -> None:
        """Take the cross-replica lock before answering, so a run held elsewhere is a 409, not a stream.

        One short query on the event loop: streaming needs the answer before the response starts.
        """
        if self.shared_lock is None:
            return
        try:
            self.shared_lock.acquire(session_id)
        except SessionBusyElsewhere as exc:
            raise ApiError("session_busy", str(exc)) from None

    def release_shared(self, session_id: str) -> None:
        """Give back the cross-replica lock the run took."""
        if self.shared_lock is not None:
            self.shared_lock.release(session_id)

    async def call(self, session_id: str, work: Work, key: str) -> dict[str, Any]:
        """Run ``work`` like ``start`` and wait for its final event; an error event is raised as ApiError."""
        events = self.start(session_id, work, key, streamed=False)
        final: dict[str, Any] = {}
        while (event := await events.get()) is not None:
            final = event
        if final.get("kind") == "error":
            retry = {"Retry-After": str(self.queue.retry_after_s)} if CODES[final["code"]][0] == 503 else None
            raise ApiError(final["code"], final["message"], retry)
        return final

    async def drain(self) -> None:
        """Wait for every run to finish (shutdown: turns in progress are completed and saved)."""
        await asyncio.gather(*self.active.values(), return_exceptions=True)


def reply_event(reply: Reply) -> dict[str, Any]:
    """The final event of a turn: the reply text, the action and where the head is."""
    return {"kind": "reply", **ReplyOut.model_validate(reply, from_attributes=True).model_dump()}


async def sse(events: Events) -> AsyncIterator[ServerSentEvent]:
    """A run's events as Server-Sent Events: ``event: <kind>``, ``data: <JSON>``, numbered ``id``."""
    number = 0
    while (event := await events.get()) is not None:
        number += 1
        data = {k: v for k, v in event.items() if k != "kind"}
        yield ServerSentEvent(event=event["kind"], data=data, id=str(number))
