"""What the service answers, checked before it is trusted: JSON shapes, images, and bounded SSE events.

A broken or hostile server (or a proxy in between) must not reach the caller as a raw JSONDecodeError,
ValidationError, KeyError, RecursionError or UnidentifiedImageError, nor hold a turn open for ever or
fill memory with one event: every such answer is a ``BadAnswer`` (code ``bad_answer``), a turn past its
deadline a ``TurnTimeout``, both ServiceErrors like every other failure the client reports.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, TypeVar

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel

from agent.client.errors import ServiceError
from tools import safe_json

MAX_EVENT_BYTES = 4 * 1024 * 1024  # one SSE event; a reply lists every revision (~300 bytes each)
Model = TypeVar("Model", bound=BaseModel)


class BadAnswer(ServiceError):
    """The service answered something the API does not document (not JSON, the wrong shape, too big)."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_answer", message)


class TurnTimeout(ServiceError):
    """A streamed turn did not end within the client's turn deadline (it may still finish on the service)."""


def parsed(content: bytes | str, model: type[Model], what: str) -> Model:
    """``content`` as ``model``; BadAnswer naming ``what`` when it is not JSON of that shape."""
    try:
        return model.model_validate(safe_json.loads(content))
    except (ValueError, TypeError, RecursionError) as exc:  # JSON, UTF-8 and ValidationError are ValueErrors
        raise BadAnswer(f"{what} is not what the API documents: {str(exc).splitlines()[0][:160]}") from None


def json_object(content: bytes, what: str) -> dict[str, Any]:
    """``content`` as a JSON object; BadAnswer otherwise."""
    try:
        value = safe_json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise BadAnswer(f"{what} is not JSON: {str(exc)[:160]}") from None
    if not isinstance(value, dict):
        raise BadAnswer(f"{what} is not a JSON object")
    return value


def image(content: bytes, what: str) -> Image.Image:
    """``content`` decoded as an image; BadAnswer when it is not one."""
    try:
        opened = Image.open(io.BytesIO(content))
        opened.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BadAnswer(f"{what} is not an image the client can read: {exc}") from None
    return opened


class SseReader:
    """Server-Sent Events from raw bytes, one event at most ``max_event_bytes`` (comments and ids skipped)."""

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self.line = bytearray()
        self.kind = ""
        self.data: list[str] = []
        self.size = 0
        self.after_cr = False  # the last chunk ended in \r: a \n starting the next one ends no second line

    def feed(self, chunk: bytes) -> Iterator[tuple[str, str]]:
        """The (event, data) pairs this chunk completes; BadAnswer when an event grows past the limit."""
        if self.after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self.after_cr = chunk.endswith(b"\r")
        for piece in chunk.splitlines(keepends=True):
            self.line += piece
            self.size += len(piece)
            if self.size > self.max_event_bytes:
                raise BadAnswer(f"an event of the turn's stream is over {self.max_event_bytes:,} bytes")
            if not piece.endswith((b"\n", b"\r")):
                continue
            line = bytes(self.line).rstrip(b"\r\n").decode("utf-8", errors="replace")
            self.line.clear()
            if not line:
                if self.data or self.kind:
                    yield self.kind or "message", "\n".join(self.data)
                self.kind, self.data, self.size = "", [], 0
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                self.kind = value
            elif field == "data":
                self.data.append(value)
