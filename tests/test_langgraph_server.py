"""The real `langgraph dev` (langgraph-cli[inmem]) serving langgraph.json with no flag, driven by langgraph_sdk.

The server runs the graph under its blocking-call detector, with its own checkpointer, the image route
of ``http.app`` and the ``auth`` of langgraph.json: a chat UI's image content block becomes the
upload revision, replies carry the head image as a markdown link the route serves, and the
confirmation is answered in agent-chat-ui's human-in-the-loop shape (approve / edit / reject); a
long thread's state keeps a window of the conversation and the transcript route gives all of it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.live_servers import fetch, wait_until_answers
from tests.openai_server import free_port

pytest.importorskip("langgraph_api", reason="needs the studio extra: pip install 'dialogpaint[studio]'")
from langgraph_sdk import get_sync_client

ROOT = Path(__file__).resolve().parents[1]
KEY = "studio-test-key-0123456789"
OTHER = "another-studio-key-0123456789"
WINDOW = 4  # turns the state keeps (the least the question cap allows); it holds up to 1.5 times as many
SCRIPT = ("make it brighter", "what can you do?", "flip it horizontally", "undo", "make it black and white", "redo")
LINK = re.compile(r"!\[[^\]]*\]\((http://127\.0\.0\.1:\d+/dialogpaint/images/([0-9a-f]{64})\.png(\?sig=[\w-]+)?)\)")

ALWAYS = {"confirm": "always"}  # the confirmation flows: every edit is proposed (auto asks once per edit)


def start_langgraph_dev(workdir: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """`langgraph dev` on langgraph.json (no --allow-blocking), on a free loopback port; its process and URL."""
    port = free_port()
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DIALOGPAINT_DATA_DIR": str(workdir / "data"),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        **env,
    }
    command = [sys.executable, "-m", "langgraph_cli", "dev", "--config", str(config_in(workdir))]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-browser", "--no-reload"]
    log = workdir / "langgraph.log"
    with log.open("ab") as out:  # cwd: where the server keeps its threads and store (.langgraph_api/)
        process = subprocess.Popen(command, cwd=workdir, env=environ, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until_answers(process, f"{base}/ok", log)
    return process, base


def config_in(workdir: Path) -> Path:
    """langgraph.json as it is, its paths made absolute, in ``workdir`` (the server resolves some against its cwd)."""
    text = (ROOT / "langgraph.json").read_text().replace('"./', f'"{ROOT}/').replace('"."', f'"{ROOT}"')
    (workdir / "langgraph.json").write_text(text)
    return workdir / "langgraph.json"


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server as Ctrl-C would: it saves its threads and store on the way out."""
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`langgraph dev` with an API key configured (DIALOGPAINT_API_KEYS), and its work directory."""
    workdir = tmp_path_factory.mktemp("langgraph")
    keys = f"{KEY},{OTHER}"
    process, base = start_langgraph_dev(workdir, DIALOGPAINT_API_KEYS=keys, DIALOGPAINT_WINDOW_TURNS=str(WINDOW))
    try:
        yield base, workdir
    finally:
        stop(process)
    log = (workdir / "langgraph.log").read_text()
    assert "BlockingError" not in log and "Blocking call" not in log, log[-3000:]


def photo_block() -> tuple[dict[str, Any], Image.Image]:
    """A real photo-like image as agent-chat-ui sends it: a base64 image content block."""
    from agent.samples import landscape

    image = landscape().resize((96, 64))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    data = base64.b64encode(buffer.getvalue()).decode()
    return {"type": "image", "source_type": "base64", "mime_type": "image/jpeg", "data": data}, image


def last_ai(state: dict[str, Any]) -> str:
    return str(next(m["content"] for m in reversed(state["messages"]) if m["type"] == "ai" and m["content"]))


def shown_image(text: str) -> tuple[str, str]:
    """The URL and image key of the markdown image in a reply."""
    found = LINK.search(text)
    assert found, text
    return found.group(1), found.group(2)


def test_clarify_confirm_edit_undo_through_the_sdk_with_an_uploaded_image(server):
    base, _ = server
    client = get_sync_client(url=base, api_key=None, headers={"Authorization": f"Bearer {KEY}"})
    thread = client.threads.create()["thread_id"]
    block, image = photo_block()
    said = {"role": "user", "content": [{"type": "text", "text": "make it red"}, block]}
    state = client.runs.wait(thread, "dialogpaint", context=ALWAYS, input={"messages": [said]})
    upload = state["revisions"][0]
    assert len(state["revisions"]) == 1 and state["head"] == upload["id"] and upload["parent"] is None
    assert "What" in last_ai(state) or "Which" in last_ai(state)  # clarify
    url, key = shown_image(last_ai(state))
    assert key == upload["image"]
    status, png = fetch(url)  # the route of langgraph.json's http.app, signed link
    assert status == 200 and Image.open(io.BytesIO(png)).size == image.size
    assert fetch(url.split("?")[0])[0] == 401  # the same image without the link's signature
    humans = [m for m in state["messages"] if m["type"] == "human"]
    assert humans[-1]["content"] == "make it red"  # no pixels in the thread's messages

    state = client.runs.wait(
        thread, "dialogpaint", context=ALWAYS, input={"messages": [{"role": "user", "content": "the whole image"}]}
    )
    interrupt = client.threads.get_state(thread)["interrupts"][0]["value"]
    assert interrupt["kind"] == "confirm_edit" and interrupt["action_requests"][0]["name"] == "tint"
    assert interrupt["review_configs"][0]["allowed_decisions"] == ["approve", "edit", "reject"]
    # agent-chat-ui's "edit": a new instruction instead of the proposed one, carried out at once
    assert interrupt["action_requests"][0]["args"] == {"instruction": "give the whole image a red tint"}
    edited = {"name": "tint", "args": {"instruction": "make it black and white"}}
    state = client.runs.wait(
        thread,
        "dialogpaint",
        context=ALWAYS,
        command={"resume": {"decisions": [{"type": "edit", "edited_action": edited}]}},
    )
    assert [r["tool"] for r in state["revisions"]] == [None, "grayscale"]
    _, key = shown_image(last_ai(state))
    assert key == state["revisions"][-1]["image"] != upload["image"]
    assert not client.threads.get_state(thread)["interrupts"]

    state = client.runs.wait(
        thread, "dialogpaint", context=ALWAYS, input={"messages": [{"role": "user", "content": "undo"}]}
    )
    assert state["head"] == upload["id"] and len(state["revisions"]) == 2
    assert shown_image(last_ai(state))[1] == upload["image"]


def test_approve_and_reject_decisions_answer_the_confirmation(server):
    base, _ = server
    client = get_sync_client(url=base, api_key=None, headers={"Authorization": f"Bearer {KEY}"})
    thread = client.threads.create()["thread_id"]
    for text in ("make it red", "the whole image"):  # a thread without an image gets the sample one
        client.runs.wait(thread, "dialogpaint", context=ALWAYS, input={"messages": [{"role": "user", "content": text}]})
    state = client.runs.wait(
        thread, "dialogpaint", context=ALWAYS, command={"resume": {"decisions": [{"type": "reject"}]}}
    )
    assert len(state["revisions"]) == 1 and "won't" in last_ai(state)
    for text in ("make it red", "the whole image"):
        client.runs.wait(thread, "dialogpaint", context=ALWAYS, input={"messages": [{"role": "user", "content": text}]})
    state = client.runs.wait(
        thread, "dialogpaint", context=ALWAYS, command={"resume": {"decisions": [{"type": "approve"}]}}
    )
    assert [r["tool"] for r in state["revisions"]] == [None, "tint"]


def test_requests_without_the_key_get_401(server):
    base, _ = server
    for headers in ({}, {"Authorization": "Bearer not-the-key-0123456789"}, {"Authorization": KEY}):
        assert httpx.post(f"{base}/threads", json={}, headers=headers).status_code == 401
        assert httpx.post(f"{base}/threads/search", json={}, headers=headers).status_code == 401
    owner = {"Authorization": f"Bearer {KEY}"}
    created = httpx.post(f"{base}/threads", json={}, headers=owner)
    assert created.status_code == 200
    thread = created.json()["thread_id"]
    assert httpx.get(f"{base}/threads/{thread}", headers=owner).status_code == 200
    assert httpx.get(f"{base}/threads/{thread}", headers={"Authorization": f"Bearer {OTHER}"}).status_code == 404
    found = httpx.post(f"{base}/assistants/search", json={}, headers=owner)  # Studio and Agent Chat UI list them
    assert found.status_code == 200 and [a["graph_id"] for a in found.json()] == ["dialogpaint"]


def test_a_remote_image_url_is_refused_not_fetched(server):
    base, _ = server
    client = get_sync_client(url=base, api_key=None, headers={"Authorization": f"Bearer {KEY}"})
    thread = client.threads.create()["thread_id"]
    block = {"type": "image", "source_type": "url", "url": "http://169.254.169.254/latest/meta-data"}
    said = {"role": "user", "content": [{"type": "text", "text": "make it red"}, block]}
    run = client.runs.create(thread, "dialogpaint", input={"messages": [said]})
    client.runs.join(thread, run["run_id"])
    assert client.runs.get(thread, run["run_id"])["status"] == "error"
    assert not client.threads.get_state(thread)["values"]  # nothing was stored for the thread


def canonical(message: dict[str, Any]) -> str:
    return json.dumps(message, sort_keys=True, ensure_ascii=False)


def test_a_long_thread_keeps_a_window_and_the_transcript_route_gives_every_message(server):
    base, _ = server
    owner = {"Authorization": f"Bearer {KEY}"}
    client = get_sync_client(url=base, api_key=None, headers=owner)
    thread = client.threads.create()["thread_id"]
    seen: dict[str, str] = {}  # every message the thread's state ever showed, in order, as last shown
    for turn in range(40):
        said = {"role": "user", "content": f"{SCRIPT[turn % len(SCRIPT)]}"}
        state = client.runs.wait(thread, "dialogpaint", input={"messages": [said]}, context={"confirm": "never"})
        seen.update((m["id"], canonical(m)) for m in state["messages"])
        assert sum(m["type"] == "human" for m in state["messages"]) <= WINDOW + WINDOW // 2
    assert state["trimmed"] > 60 and len(state["messages"]) < len(seen) - 60
    url = f"{base}/dialogpaint/threads/{thread}/transcript"
    answer = httpx.get(url, headers=owner)
    assert answer.status_code == 200, answer.text
    assert [canonical(m) for m in answer.json()["messages"]] == list(seen.values())  # byte for byte, in order
    assert httpx.get(url, headers={"Authorization": f"Bearer {OTHER}"}).status_code == 404
    assert httpx.get(url).status_code == 401
    assert httpx.get(f"{base}/dialogpaint/threads/{uuid.uuid4()}/transcript", headers=owner).status_code == 404
    # The store API shows the owner the items and refuses to write them: only the graph does.
    found = client.store.search_items(("transcript", thread), limit=5)["items"]
    assert [item["key"] for item in found] == [f"{seq:09d}" for seq in range(5)]
    assert canonical(found[0]["value"]["message"]) == next(iter(seen.values()))
    with pytest.raises(httpx.HTTPStatusError) as refused:
        client.store.put_item(("transcript", thread), found[0]["key"], {"message": {"type": "human"}})
    assert refused.value.response.status_code == 403
    other = get_sync_client(url=base, api_key=None, headers={"Authorization": f"Bearer {OTHER}"})
    assert other.store.search_items(("transcript", thread))["items"] == []
    assert httpx.get(url, headers=owner).json() == answer.json()  # reading changes nothing
    # Deleting a thread leaves its store items; their owner can delete them (and then the route says so).
    client.store.delete_item(("transcript", thread), found[0]["key"])
    broken = httpx.get(url, headers=owner)
    assert broken.status_code == 410 and "lacks 1 of its first" in broken.text


def test_the_transcript_reads_the_same_after_a_restart(tmp_path):
    process, base = start_langgraph_dev(tmp_path, DIALOGPAINT_WINDOW_TURNS=str(WINDOW))
    try:
        client = get_sync_client(url=base, api_key=None)
        thread = client.threads.create()["thread_id"]
        for turn in range(12):
            said = {"role": "user", "content": SCRIPT[turn % len(SCRIPT)]}
            client.runs.wait(thread, "dialogpaint", input={"messages": [said]}, context={"confirm": "never"})
        before = httpx.get(f"{base}/dialogpaint/threads/{thread}/transcript")
        assert before.status_code == 200 and client.threads.get_state(thread)["values"]["trimmed"] > 0
    finally:
        stop(process)
    process, base = start_langgraph_dev(tmp_path, DIALOGPAINT_WINDOW_TURNS=str(WINDOW))
    try:
        after = httpx.get(f"{base}/dialogpaint/threads/{thread}/transcript")
        assert after.status_code == 200 and after.content == before.content  # byte for byte
        client = get_sync_client(url=base, api_key=None)
        said = {"role": "user", "content": "make it brighter"}
        client.runs.wait(thread, "dialogpaint", input={"messages": [said]}, context={"confirm": "never"})
        more = httpx.get(f"{base}/dialogpaint/threads/{thread}/transcript").json()["messages"]
        assert more[: len(before.json()["messages"])] == before.json()["messages"]
        assert [m["content"] for m in more if m["type"] == "human"][-1] == "make it brighter"
    finally:
        stop(process)
