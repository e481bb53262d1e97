"""Idempotency-Key on message and confirmation requests (issue 14 item 12): a retry gets the first result."""

from __future__ import annotations

from typing import Any

import pytest

from agent.settings import Settings
from tests.service_helpers import KEY_A, auth, parse_sse, require_serve_extra, upload


@pytest.fixture
def client_for(tmp_path):
    """client_for(confirm) -> a TestClient on the embedded default (local policy, CPU tools, SQLite)."""
    require_serve_extra()
    from fastapi.testclient import TestClient

    from agent.service.app import create_app

    clients: list[Any] = []

    def make(confirm: str = "never") -> Any:
        settings = Settings(data_dir=tmp_path / "data", api_keys=KEY_A, confirm=confirm)
        client = TestClient(create_app(settings), raise_server_exceptions=False).__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def post(client: Any, path: str, body: dict[str, Any], key: str | None) -> Any:
    headers = auth(KEY_A) | ({"Idempotency-Key": key} if key is not None else {})
    return client.post(path, json=body, headers=headers)


def reply_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return next(e["data"] for e in parse_sse(response.text) if e["event"] == "reply")


def saved(client: Any, sid: str) -> tuple[int, int]:
    """(revisions, conversation lines) of the saved session."""
    body = client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).json()
    return len(body["revisions"]), len(body["history"])


def test_a_retried_message_returns_the_same_revision_without_a_second_edit(client_for):
    client = client_for()
    sid = upload(client, KEY_A).json()["id"]
    url = f"/v1/sessions/{sid}/messages"
    first = reply_of(post(client, url, {"text": "make it brighter"}, "msg-1"))
    before = saved(client, sid)
    retry = post(client, url, {"text": "make it brighter"}, "msg-1")
    assert reply_of(retry) == first and first["action"] == "edit"
    assert not [e for e in parse_sse(retry.text) if e["event"] == "revision"]  # nothing new to announce
    assert saved(client, sid) == before == (2, 2)
    other = reply_of(post(client, url, {"text": "make it brighter"}, "msg-2"))  # a new key is a new request
    assert other["head"] != first["head"] and saved(client, sid)[0] == 3


def test_a_retried_confirmation_returns_the_applied_edit_instead_of_409(client_for):
    client = client_for(confirm="always")
    sid = upload(client, KEY_A).json()["id"]
    proposal = reply_of(post(client, f"/v1/sessions/{sid}/messages", {"text": "make it brighter"}, None))
    assert proposal["action"] == "confirm"
    url = f"/v1/sessions/{sid}/confirmation"
    applied = reply_of(post(client, url, {"approve": True}, "yes-1"))
    assert applied["action"] == "edit" and reply_of(post(client, url, {"approve": True}, "yes-1")) == applied
    assert saved(client, sid)[0] == 2
    assert post(client, url, {"approve": True}, None).json()["error"]["code"] == "no_pending_confirmation"


@pytest.mark.parametrize(("key", "words"), [("k" * 129, "1 to 128 characters"), ("two words", "1 to 128 characters")])
def test_a_bad_key_is_refused_naming_the_limit_and_nothing_changes(client_for, key, words):
    client = client_for()
    sid = upload(client, KEY_A).json()["id"]
    response = post(client, f"/v1/sessions/{sid}/messages", {"text": "make it brighter"}, key)
    assert response.status_code == 422 and response.json()["error"]["code"] == "idempotency_key_rejected"
    assert words in response.json()["error"]["message"] and saved(client, sid) == (1, 0)


def test_a_key_reused_for_another_message_is_refused(client_for):
    client = client_for()
    sid = upload(client, KEY_A).json()["id"]
    url = f"/v1/sessions/{sid}/messages"
    reply_of(post(client, url, {"text": "make it brighter"}, "same"))
    before = saved(client, sid)
    response = post(client, url, {"text": "add a vignette"}, "same")
    events = parse_sse(response.text)
    assert events[-1]["event"] == "error" and events[-1]["data"]["code"] == "idempotency_key_rejected"
    assert "already used for a different message" in events[-1]["data"]["message"] and saved(client, sid) == before
