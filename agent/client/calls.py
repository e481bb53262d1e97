"""The requests of the HTTP API as plain values, shared by the sync and the async client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from tools.images import encode_png

ImageSource = Image.Image | bytes | str | Path


@dataclass(frozen=True)
class Call:
    """One request: what to send, and whether sending it twice is harmless (see agent.client.retry)."""

    method: str
    path: str
    idempotent: bool
    json: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def upload(image: ImageSource) -> Call:
    """Start a session on an image: a PIL image (sent as PNG), PNG/JPEG/WebP bytes, or a file path."""
    if isinstance(image, Image.Image):
        part = ("image.png", encode_png(image), "image/png")
    elif isinstance(image, bytes):
        part = ("image", image, "application/octet-stream")  # the service's decoder tells the format
    else:
        path = Path(image)
        part = (path.name, path.read_bytes(), "application/octet-stream")
    return Call("POST", "/v1/sessions", idempotent=False, files={"image": part})


def session(session_id: str) -> Call:
    """Read a session (revisions, conversation, pending confirmation)."""
    return Call("GET", f"/v1/sessions/{session_id}", idempotent=True)


def message(session_id: str, text: str, key: str | None) -> Call:
    """A turn: one user message, keyed so that a retry replays instead of editing twice."""
    return _turn(f"/v1/sessions/{session_id}/messages", {"text": text}, key)


def confirmation(session_id: str, approve: bool, key: str | None) -> Call:
    """The answer to the edit awaiting a yes or no, keyed like a message."""
    return _turn(f"/v1/sessions/{session_id}/confirmation", {"approve": approve}, key)


def _turn(path: str, body: dict[str, Any], key: str | None) -> Call:
    headers = {"Idempotency-Key": key or f"client:{uuid.uuid4().hex}", "Accept": "text/event-stream"}
    return Call("POST", path, idempotent=True, json=body, headers=headers)


def move(session_id: str, name: str, steps: int) -> Call:
    """An undo or redo (no key: the API has none for them, so only refusals before work are retried)."""
    return Call("POST", f"/v1/sessions/{session_id}/{name}", idempotent=False, json={"steps": steps})


def revisions(session_id: str) -> Call:
    """Every revision with its recipe, the head and the path to it."""
    return Call("GET", f"/v1/sessions/{session_id}/revisions", idempotent=True)


def image(session_id: str, revision_id: str) -> Call:
    """A revision's PNG."""
    return Call("GET", f"/v1/sessions/{session_id}/revisions/{revision_id}/image", idempotent=True)


def delete(session_id: str) -> Call:
    """Delete a session (a repeat would answer 404, so it is not retried after sending)."""
    return Call("DELETE", f"/v1/sessions/{session_id}", idempotent=False)


def health() -> Call:
    """The service's /healthz."""
    return Call("GET", "/healthz", idempotent=True)
