"""Helpers for the HTTP service tests: the serve extra check, SSE parsing, uploads."""

from __future__ import annotations

import importlib.util
import io
import json
from typing import Any

from PIL import Image

from tests.conftest import require_system
from tests.fakes import gradient

KEY_A = "key-a-0123456789abcdef"
KEY_B = "key-b-0123456789abcdef"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def require_serve_extra() -> None:
    missing = [m for m in ("fastapi", "uvicorn", "multipart", "httpx") if importlib.util.find_spec(m) is None]
    require_system("the serve extra", not missing, f"missing {', '.join(missing)}: pip install -e '.[serve]'")


def png(image: Image.Image | None = None) -> bytes:
    buffer = io.BytesIO()
    (image or gradient()).save(buffer, format="PNG")
    return buffer.getvalue()


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Events as {"event", "id", "data"}; comment lines are skipped."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if "data" in fields:
            events.append({"event": fields.get("event"), "id": fields.get("id"), "data": json.loads(fields["data"])})
    return events


def upload(client: Any, key: str, data: bytes | None = None, content_type: str = "image/png") -> Any:
    return client.post("/v1/sessions", files={"image": ("in.png", data or png(), content_type)}, headers=auth(key))


def send(client: Any, key: str, session_id: str, text: str) -> list[dict[str, Any]]:
    """Send a message and return its SSE events (asserting the stream itself was answered 200)."""
    response = client.post(f"/v1/sessions/{session_id}/messages", json={"text": text}, headers=auth(key))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)
