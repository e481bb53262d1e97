"""What a session refuses, and why: the input limits and the message check applied before any work,
and the errors a refused request raises (each surface maps them to its own codes: ``agent.service.errors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from agent.session.message_text import forbidden_character, normalise_line_breaks
from graphs.deps import MAX_MESSAGE_CHARS
from tools.errors import DialogPaintError
from tools.images import (
    DEFAULT_MAX_ASPECT_RATIO,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_SIDE,
    check_size,
    decode_image,
    read_image_file,
)


class MessageRejected(DialogPaintError, ValueError):
    """A user message that cannot be sent (empty or too long); nothing is changed."""


class SessionNotFound(DialogPaintError, LookupError):
    """No session with that id in this data directory."""


class SessionBusy(DialogPaintError, RuntimeError):
    """A message is already being handled in this session."""


class ConfirmationPending(DialogPaintError, RuntimeError):
    """An undo or redo was asked while an edit awaits the user's yes or no."""


def check_message(text: str, limit: int) -> str:
    """The message as stored and shown; MessageRejected if empty, over ``limit`` or against the message_text rule."""
    text = normalise_line_breaks(text).strip()
    if not text:
        raise MessageRejected("the message is empty")
    if len(text) > limit:
        raise MessageRejected(f"the message is {len(text)} characters; the limit is {limit}")
    if problem := forbidden_character(text):
        raise MessageRejected(problem)
    return text


@dataclass(frozen=True)
class InputLimits:
    """Input limits enforced before any work is done."""

    max_message_chars: int = MAX_MESSAGE_CHARS
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_upload_bytes: int = DEFAULT_MAX_BYTES
    min_image_side: int = DEFAULT_MIN_SIDE
    max_aspect_ratio: float = DEFAULT_MAX_ASPECT_RATIO

    def image(self, source: Image.Image | bytes | str | Path) -> Image.Image:
        """An upload decoded safely and checked against these limits; ImageRejected names the one it breaks."""
        pixels, size, side, aspect = self.max_pixels, self.max_upload_bytes, self.min_image_side, self.max_aspect_ratio
        if isinstance(source, bytes):
            return decode_image(source, max_pixels=pixels, max_bytes=size, min_side=side, max_aspect_ratio=aspect)
        if isinstance(source, str | Path):
            return read_image_file(source, max_pixels=pixels, max_bytes=size, min_side=side, max_aspect_ratio=aspect)
        check_size(source.size, max_pixels=pixels, min_side=side, max_aspect_ratio=aspect)
        return source
