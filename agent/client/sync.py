"""The blocking client: ``Client`` opens and resumes sessions; a ``RemoteSession`` talks to one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import TracebackType

import httpx
from PIL import Image

from agent.client import calls
from agent.client.answers import SseReader, TurnTimeout, image, json_object, parsed
from agent.client.calls import Call, ImageSource
from agent.client.errors import ServiceError, Unreachable, error_from_response
from agent.client.events import Done, Event, chunk_events
from agent.client.retry import DEFAULT_RETRY, RetryPolicy, may_retry, transport_error
from agent.service.schemas import ReplyOut, RevisionsOut, SessionOut

DEFAULT_TIMEOUT = httpx.Timeout(10.0, read=600.0)  # a turn's stream may wait minutes for a diffusion edit
DEFAULT_TURN_TIMEOUT_S = 1800.0  # a whole streamed turn, however the server keeps the stream alive


def turn_timeout(seconds: float) -> TurnTimeout:
    """The error for a turn past the client's deadline."""
    return TurnTimeout(
        "turn_timeout",
        f"the turn did not end within {seconds:g} s; it may still finish on the service: send the same key again",
    )


class Client:
    """A dialogpaint HTTP service at ``base_url``; use as a context manager, or call ``close()``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        http: httpx.Client | None = None,
        turn_timeout_s: float = DEFAULT_TURN_TIMEOUT_S,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = http or httpx.Client(base_url=base_url, headers=headers, timeout=timeout)
        self.retry = retry
        self.turn_timeout_s = turn_timeout_s  # a streamed turn ends within this, whatever the server sends

    def open(self, image: ImageSource) -> RemoteSession:
        """Start a session on an image (PIL image, bytes or a file path)."""
        info = parsed(self.send(calls.upload(image)).content, SessionOut, "the new session")
        return RemoteSession(self, info)

    def resume(self, session_id: str) -> RemoteSession:
        """Continue a session this API key created."""
        return RemoteSession(self, parsed(self.send(calls.session(session_id)).content, SessionOut, "the session"))

    def health(self) -> dict[str, object]:
        """The service's /healthz body (RetryLater ``unhealthy`` if a check fails)."""
        return json_object(self.send(calls.health()).content, "/healthz")

    def send(self, call: Call, *, stream: bool = False) -> httpx.Response:
        """Send ``call``, retrying where it is safe; the response if it succeeded, else its ServiceError.

        A streamed response is open: the caller reads and closes it.
        """
        attempt = 1
        while True:
            error = self._attempt(call, stream)
            if isinstance(error, httpx.Response):
                return error
            if attempt >= self.retry.attempts or not may_retry(error, idempotent=call.idempotent):
                raise error
            time.sleep(self.retry.wait_s(attempt, error))
            attempt += 1

    def _attempt(self, call: Call, stream: bool) -> httpx.Response | ServiceError:
        request = self.http.build_request(
            call.method, call.path, json=call.json, files=call.files, headers=call.headers
        )
        try:
            response = self.http.send(request, stream=stream)
        except httpx.TransportError as exc:
            return transport_error(exc)
        if response.is_success:
            return response
        response.read()
        response.close()
        return error_from_response(response)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class RemoteSession:
    """One session on the service; ``info`` is what the service last said about it."""

    def __init__(self, client: Client, info: SessionOut) -> None:
        self.client = client
        self.info = info
        self.id = info.id

    def send(self, text: str, *, key: str | None = None) -> Turn:
        """Send a message (a yes or no answers a pending confirmation); iterate the Turn for its events.

        Args:
            key: the Idempotency-Key (default: a fresh one); resending it replays this turn's reply.
        """
        return Turn(self.client, calls.message(self.id, text, key))

    def confirm(self, approve: bool, *, key: str | None = None) -> Turn:
        """Answer the edit awaiting a yes or no (Conflict ``no_pending_confirmation`` if none is)."""
        return Turn(self.client, calls.confirmation(self.id, approve, key))

    def undo(self, steps: int = 1) -> ReplyOut:
        """Undo edits without asking the dialogue model (Conflict ``confirmation_pending`` while one awaits)."""
        return parsed(self.client.send(calls.move(self.id, "undo", steps)).content, ReplyOut, "the undo reply")

    def redo(self, steps: int = 1) -> ReplyOut:
        """Redo undone edits."""
        return parsed(self.client.send(calls.move(self.id, "redo", steps)).content, ReplyOut, "the redo reply")

    def refresh(self) -> SessionOut:
        """Read the session again (conversation, revisions, pending confirmation)."""
        self.info = parsed(self.client.send(calls.session(self.id)).content, SessionOut, "the session")
        return self.info

    def revisions(self) -> RevisionsOut:
        """Every revision with its recipe, the head and the path to it."""
        return parsed(self.client.send(calls.revisions(self.id)).content, RevisionsOut, "the revisions")

    def image_bytes(self, revision_id: str | None = None) -> bytes:
        """A revision's PNG bytes (default: the head)."""
        revision = revision_id or self.revisions().head
        return self.client.send(calls.image(self.id, revision)).content

    def image(self, revision_id: str | None = None) -> Image.Image:
        """A revision's image (default: the head)."""
        return image(self.image_bytes(revision_id), "the revision's image")

    def delete(self) -> None:
        """Delete the session's conversation and revision tree."""
        self.client.send(calls.delete(self.id))


class Turn:
    """A streamed turn: the request is sent at once (errors raise here); iterate for its events.

    ``result()`` reads what is left and returns the reply. A stream that breaks is resumed by sending
    the same Idempotency-Key again: the service answers with the finished turn's reply, never a second edit.
    """

    def __init__(self, client: Client, call: Call) -> None:
        self.client = client
        self.call = call
        self.reply: ReplyOut | None = None
        self.deadline = time.monotonic() + client.turn_timeout_s
        self._response: httpx.Response | None = client.send(call, stream=True)
        self._events = self._read()

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def result(self) -> ReplyOut:
        """Read the rest of the stream; the turn's reply."""
        for _ in self._events:
            pass
        if self.reply is None:
            raise ServiceError("incomplete_turn", "the stream ended without a reply")
        return self.reply

    def close(self) -> None:
        """Stop reading (the turn still completes on the service)."""
        if self._response is not None:
            self._response.close()
            self._response = None

    def _read(self) -> Iterator[Event]:
        breaks = 0
        while self._response is not None:
            try:
                reader = SseReader()
                for chunk in self._response.iter_bytes():
                    if time.monotonic() > self.deadline:
                        self.close()
                        raise turn_timeout(self.client.turn_timeout_s)
                    for event in chunk_events(reader, chunk):
                        if isinstance(event, Done):
                            self.reply = event.reply
                        yield event
                self.close()
            except httpx.TransportError as exc:
                self.close()
                if self.reply is not None:  # the turn is complete; only the stream's ending was lost
                    return
                breaks += 1
                error = transport_error(exc)
                if breaks >= self.client.retry.attempts:
                    raise Unreachable(f"the turn's stream broke {breaks} times: {error.message}", sent=True) from exc
                time.sleep(self.client.retry.wait_s(breaks, None))
                self._response = self.client.send(self.call, stream=True)
