"""Preview images over HTTP: which store keys a session's turns have shown, and their public events.

A preview or step picture is an image store key, and keys are content hashes: serving any stored key
would make the route a way to read any image whose hash is known. So a preview URL serves only a key
its own session was shown in this process (or its pending proposal's preview, after a restart).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

PER_SESSION = 64  # step pictures of the latest edits, plus their previews
SESSIONS = 4096  # sessions remembered; the least recently shown is forgotten first


def preview_url(session_id: str, key: str) -> str:
    """Where a session's preview or step picture is served."""
    return f"/v1/sessions/{session_id}/previews/{key}"


class ShownPreviews:
    """The preview keys streamed to each session, newest kept, in bounded memory."""

    def __init__(self, per_session: int = PER_SESSION, sessions: int = SESSIONS) -> None:
        self.per_session = per_session
        self.sessions = sessions
        self.keys: OrderedDict[str, deque[str]] = OrderedDict()

    def add(self, session_id: str, key: str) -> None:
        """Record that ``key`` was shown in the session."""
        keys = self.keys.pop(session_id, None) or deque(maxlen=self.per_session)
        keys.append(key)
        self.keys[session_id] = keys
        while len(self.keys) > self.sessions:
            self.keys.popitem(last=False)

    def shown(self, session_id: str, key: str) -> bool:
        """Whether ``key`` was shown in the session."""
        return key in self.keys.get(session_id, ())

    def public(self, session_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """A ``preview`` or picture-carrying ``progress`` event with its key turned into a URL (and recorded)."""
        if event["kind"] == "preview":
            made = event["preview"]
            self.add(session_id, made["image"])
            url = preview_url(session_id, made["image"])
            return {"kind": "preview", "image_url": url, "width": made["width"], "height": made["height"]}
        if event["kind"] == "progress" and "image" in event:
            found = {k: v for k, v in event.items() if k != "image"}
            self.add(session_id, event["image"])
            return {**found, "image_url": preview_url(session_id, event["image"])}
        return event
