"""The asyncio client: the same calls as agent.client.sync, awaited (``AsyncClient``, ``AsyncRemoteSession``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from types import TracebackType

import httpx
from PIL import Image

from agent.client import calls
from agent.client.answers import SseReader, image, parsed
from agent.client.calls import Call, ImageSource
from agent.client.errors import ServiceError, Unreachable, error_from_response
from agent.client.events import Done, Event, chunk_events
from agent.client.retry import DEFAULT_RETRY, RetryPolicy, may_retry, transport_error
from agent.client.sync import DEFAULT_TIMEOUT, DEFAULT_TURN_TIMEOUT_S, turn_timeout
from agent.service.schemas import ReplyOut, RevisionsOut, SessionOut


class AsyncClient:
    """A dialogpaint HTTP service at ``base_url``; ``async with`` it, or ``await close()``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        http: httpx.AsyncClient | None = None,
        turn_timeout_s: float = DEFAULT_TURN_TIMEOUT_S,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = http or httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)
        self.retry = retry
        self.turn_timeout_s = turn_timeout_s  # a streamed turn ends within this, whatever the server sends

    async def open(self, image: ImageSource) -> AsyncRemoteSession:
        """Start a session on an image (PIL image, bytes or a file path)."""
        response = await self.send(calls.upload(image))
        return AsyncRemoteSession(self, parsed(response.content, SessionOut, "the new session"))

    async def resume(self, session_id: str) -> AsyncRemoteSession:
        """Continue a session this API key created."""
        response = await self.send(calls.session(session_id))
        return AsyncRemoteSession(self, parsed(response.content, SessionOut, "the session"))

    async def send(self, call: Call, *, stream: bool = False) -> httpx.Response:
        """Send ``call``, retrying where it is safe (see agent.client.retry)."""
        attempt = 1
        while True:
            outcome = await self._attempt(call, stream)
            if isinstance(outcome, httpx.Response):
                return outcome
            if attempt >= self.retry.attempts or not may_retry(outcome, idempotent=call.idempotent):
                raise outcome
            await asyncio.sleep(self.retry.wait_s(attempt, outcome))
            attempt += 1

    async def _attempt(self, call: Call, stream: bool) -> httpx.Response | ServiceError:
        request = self.http.build_request(
            call.method, call.path, json=call.json, files=call.files, headers=call.headers
        )
        try:
            response = await self.http.send(request, stream=stream)
        except httpx.TransportError as exc:
            return transport_error(exc)
        if response.is_success:
            return response
        await response.aread()
        await response.aclose()
        return error_from_response(response)

    async def close(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class AsyncRemoteSession:
    """One session on the service; each method is RemoteSession's, awaited."""

    def __init__(self, client: AsyncClient, info: SessionOut) -> None:
        self.client = client
        self.info = info
        self.id = info.id

    async def send(self, text: str, *, key: str | None = None) -> AsyncTurn:
        """Send a message; ``async for`` the turn's events, or ``await turn.result()``."""
        return await AsyncTurn.start(self.client, calls.message(self.id, text, key))

    async def confirm(self, approve: bool, *, key: str | None = None) -> AsyncTurn:
        """Answer the edit awaiting a yes or no."""
        return await AsyncTurn.start(self.client, calls.confirmation(self.id, approve, key))

    async def undo(self, steps: int = 1) -> ReplyOut:
        """Undo edits without asking the dialogue model."""
        return parsed((await self.client.send(calls.move(self.id, "undo", steps))).content, ReplyOut, "the undo reply")

    async def redo(self, steps: int = 1) -> ReplyOut:
        """Redo undone edits."""
        return parsed((await self.client.send(calls.move(self.id, "redo", steps))).content, ReplyOut, "the redo reply")

    async def refresh(self) -> SessionOut:
        """Read the session again."""
        self.info = parsed((await self.client.send(calls.session(self.id))).content, SessionOut, "the session")
        return self.info

    async def revisions(self) -> RevisionsOut:
        """Every revision with its recipe, the head and the path to it."""
        return parsed((await self.client.send(calls.revisions(self.id))).content, RevisionsOut, "the revisions")

    async def image_bytes(self, revision_id: str | None = None) -> bytes:
        """A revision's PNG bytes (default: the head)."""
        revision = revision_id or (await self.revisions()).head
        return (await self.client.send(calls.image(self.id, revision))).content

    async def image(self, revision_id: str | None = None) -> Image.Image:
        """A revision's image (default: the head)."""
        return image(await self.image_bytes(revision_id), "the revision's image")

    async def delete(self) -> None:
        """Delete the session's conversation and revision tree."""
        await self.client.send(calls.delete(self.id))


class AsyncTurn:
    """A streamed turn (see agent.client.sync.Turn): a broken stream is resumed with the same key."""

    def __init__(self, client: AsyncClient, call: Call, response: httpx.Response) -> None:
        self.client = client
        self.call = call
        self.reply: ReplyOut | None = None
        self.deadline = time.monotonic() + client.turn_timeout_s
        self._response: httpx.Response | None = response
        self._events = self._read()

    @classmethod
    async def start(cls, client: AsyncClient, call: Call) -> AsyncTurn:
        """Send the turn's request (its errors raise here)."""
        return cls(client, call, await client.send(call, stream=True))

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events

    async def result(self) -> ReplyOut:
        """Read the rest of the stream; the turn's reply."""
        async for _ in self._events:
            pass
        if self.reply is None:
            raise ServiceError("incomplete_turn", "the stream ended without a reply")
        return self.reply

    async def close(self) -> None:
        """Stop reading (the turn still completes on the service)."""
        if self._response is not None:
            await self._response.aclose()
            self._response = None

    async def _read(self) -> AsyncIterator[Event]:
        breaks = 0
        while self._response is not None:
            try:
                reader = SseReader()
                async for chunk in self._response.aiter_bytes():
                    if time.monotonic() > self.deadline:
                        await self.close()
                        raise turn_timeout(self.client.turn_timeout_s)
                    for event in chunk_events(reader, chunk):
                        if isinstance(event, Done):
                            self.reply = event.reply
                        yield event
                await self.close()
            except httpx.TransportError as exc:
                await self.close()
                if self.reply is not None:  # the turn is complete; only the stream's ending was lost
                    return
                breaks += 1
                if breaks >= self.client.retry.attempts:
                    message = f"the turn's stream broke {breaks} times: {transport_error(exc).message}"
                    raise Unreachable(message, sent=True) from exc
                await asyncio.sleep(self.client.retry.wait_s(breaks, None))
                self._response = await self.client.send(self.call, stream=True)
