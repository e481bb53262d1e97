"""AG-UI on a real `dialogpaint serve` (ag_ui_langgraph), read as raw Server-Sent Events like a CopilotKit client."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agent.samples import landscape
from tests.live_servers import dialogpaint_serve
from tests.service_helpers import KEY_A, KEY_B, require_serve_extra

pytest.importorskip("ag_ui_langgraph", reason="needs the agui extra: pip install 'dialogpaint[agui]'")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_serve_extra()
    with dialogpaint_serve(  # every edit proposed: the confirmation is what crosses AG-UI as an interrupt
        tmp_path_factory.mktemp("serve"), DIALOGPAINT_API_KEYS=f"{KEY_A},{KEY_B}", DIALOGPAINT_CONFIRM="always"
    ) as url:
        yield url


def new_session(base: str, key: str = KEY_A) -> str:
    """A session on an uploaded image (the AG-UI thread id)."""
    buffer = io.BytesIO()
    landscape().resize((96, 64)).save(buffer, "PNG")
    files = {"image": ("photo.png", buffer.getvalue(), "image/png")}
    made = httpx.post(f"{base}/v1/sessions", files=files, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def run(base: str, thread: str, text: str | None = None, resume: Any = None) -> list[dict[str, Any]]:
    """One AG-UI run: a RunAgentInput POSTed, its SSE events read raw and decoded.

    ``resume`` answers the interrupt the way CopilotKit's released clients do (forwardedProps.command.resume).
    """
    body: dict[str, Any] = {
        "threadId": thread, "runId": str(uuid.uuid4()), "state": {}, "tools": [], "context": [],
        "forwardedProps": {"command": {"resume": resume}} if resume is not None else {},
        "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}] if text is not None else [],
    }  # fmt: skip
    headers = {"Authorization": f"Bearer {KEY_A}", "Accept": "text/event-stream"}
    events = []
    with httpx.stream("POST", f"{base}/v1/ag-ui", json=body, headers=headers, timeout=120) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def said(events: list[dict[str, Any]]) -> str:
    """The turn's reply: the last assistant message of the run's MESSAGES_SNAPSHOT."""
    messages = [e["messages"] for e in events if e["type"] == "MESSAGES_SNAPSHOT"][-1]
    return str([m for m in messages if m["role"] == "assistant" and m.get("content")][-1]["content"])


def last_state(events: list[dict[str, Any]]) -> dict[str, Any]:
    return [e["snapshot"] for e in events if e["type"] == "STATE_SNAPSHOT"][-1]


def interrupt(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The interrupt a run ended with (AG-UI's on_interrupt event, as CopilotKit reads it)."""
    (value,) = [e["value"] for e in events if e["type"] == "CUSTOM" and e["name"] == "on_interrupt"]
    return dict(json.loads(value))


def test_clarify_confirm_edit_undo_over_agui(service):
    thread = new_session(service)
    events = run(service, thread, "make it red")
    assert kinds(events)[0] == "RUN_STARTED" and kinds(events)[-1] == "RUN_FINISHED"
    assert "Which part" in said(events) and "STEP_STARTED" in kinds(events)

    events = run(service, thread, "the whole image")
    proposal = interrupt(events)
    assert proposal["kind"] == "confirm_edit" and proposal["action_requests"][0]["name"] == "tint"
    assert proposal["review_configs"][0]["allowed_decisions"] == ["approve", "edit", "reject"]
    assert kinds(events)[-1] == "RUN_FINISHED"
    events = run(service, thread, resume={"decisions": [{"type": "approve"}]})
    assert not [e for e in events if e["type"] == "CUSTOM" and e["name"] == "on_interrupt"]
    state = last_state(events)
    assert [r["tool"] for r in state["revisions"]] == [None, "tint"] and "Done" in said(events)

    events = run(service, thread, "undo")
    state = last_state(events)
    assert state["head"] == state["revisions"][0]["id"]
    rest = httpx.get(f"{service}/v1/sessions/{thread}", headers={"Authorization": f"Bearer {KEY_A}"}).json()
    assert rest["head"] == state["head"] and rest["confirmation"] is None  # the same session on the REST API


def test_agui_needs_a_key_and_the_keys_own_session(service):
    thread = new_session(service)
    body = {"threadId": thread, "runId": "r", "messages": [{"id": "m", "role": "user", "content": "undo"}]}
    assert httpx.post(f"{service}/v1/ag-ui", json=body).status_code == 401
    assert (
        httpx.post(
            f"{service}/v1/ag-ui", json=body, headers={"Authorization": "Bearer nope-nope-nope-nope"}
        ).status_code
        == 401
    )
    other = httpx.post(f"{service}/v1/ag-ui", json=body, headers={"Authorization": f"Bearer {KEY_B}"})
    assert other.status_code == 404 and other.json()["error"]["code"] == "session_not_found"
