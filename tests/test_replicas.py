"""Two real `dialogpaint serve` replicas on one Postgres and one S3 store (moto's server): one run per
session across them, a session used through either, and a replica killed mid-turn."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import gradient
from tests.live_servers import free_port, uvicorn_thread
from tests.s3_helpers import AWS_ENV, aws_env, new_bucket, s3_endpoint
from tests.service_helpers import KEY_A, auth, parse_sse, png
from tests.test_postgres import postgres_url
from tools.registry import load_registry
from tools.serving import ToolApp

__all__ = ["aws_env", "postgres_url", "s3_endpoint"]  # fixtures
ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120  # two replicas importing at once on a busy 2-core machine


class GatedTool(type(load_registry()["grayscale"])):  # type: ignore[misc]
    """The real grayscale tool, held at a gate the test opens, counting the edits it makes."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.gate = threading.Event()
        self.gate.set()
        self.calls = 0

    def close_gate(self) -> None:
        """Hold the next edits at the gate; ``entered`` counts those that reach it from now on."""
        self.entered = threading.Semaphore(0)
        self.gate.clear()

    def __call__(self, image: Any, params: Any, **kwargs: Any) -> Any:
        self.calls += 1
        self.entered.release()
        assert self.gate.wait(60), "the test never opened the gate"
        return super().__call__(image, params, **kwargs)


@pytest.fixture
def editor(s3_endpoint) -> Iterator[tuple[GatedTool, str, str]]:
    """The gated tool served over HTTP with the shared bucket: (tool, its URL, the bucket)."""
    store = new_bucket(s3_endpoint)
    tool = GatedTool()
    with uvicorn_thread(ToolApp(tool, store=store), start_within=10) as url:
        yield tool, url, store.location.bucket


def start_replica(tmp_path: Path, name: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """One `dialogpaint serve` process with its own (unused) data dir; (process, base URL)."""
    port = free_port()
    log = (tmp_path / f"{name}.log").open("wb")
    argv = [sys.executable, "-m", "agent.cli", "serve", "--port", str(port)]
    data = {"DIALOGPAINT_DATA_DIR": str(tmp_path / name)}
    child = subprocess.Popen(argv, cwd=ROOT, env={**env, **data}, stdout=log, stderr=subprocess.STDOUT)
    return child, f"http://127.0.0.1:{port}"


def wait_up(child: subprocess.Popen[bytes], url: str, log: Path) -> None:
    import time

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert child.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the replica at {url} did not start: {log.read_text()}")


@pytest.fixture
def replicas(tmp_path, postgres_url, s3_endpoint, editor) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    _, tool_url, bucket = editor
    env = {
        **os.environ,
        **AWS_ENV,
        "PYTHONPATH": str(ROOT),
        "DIALOGPAINT_CHECKPOINT_URL": postgres_url,
        "DIALOGPAINT_S3_BUCKET": bucket,
        "DIALOGPAINT_S3_ENDPOINT_URL": s3_endpoint,
        "DIALOGPAINT_REMOTE_TOOLS": json.dumps({"grayscale": tool_url}),
        "DIALOGPAINT_API_KEYS": KEY_A,
        "DIALOGPAINT_CONFIRM": "never",
    }
    started = [start_replica(tmp_path, name, env) for name in ("a", "b")]
    try:
        for (child, url), name in zip(started, ("a", "b"), strict=True):
            wait_up(child, url, tmp_path / f"{name}.log")
        yield started
    finally:
        for child, _ in started:
            child.kill()
            child.wait()


def say(url: str, sid: str, text: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/sessions/{sid}/messages", json={"text": text}, headers=auth(KEY_A), timeout=90)


def final(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return parse_sse(response.text)[-1]["data"]


def test_two_replicas_share_sessions_and_keep_one_run_per_session(replicas, editor):
    tool, _, _ = editor
    (_, a), (child_b, b) = replicas
    upload = httpx.post(
        f"{a}/v1/sessions", files={"image": ("in.png", png(gradient()), "image/png")}, headers=auth(KEY_A)
    )
    sid = upload.json()["id"]

    # Alternately through both: B sees A's edit and undoes it, A redoes it.
    assert final(say(a, sid, "make it black and white"))["action"] == "edit"
    assert final(say(b, sid, "undo"))["action"] == "undo"
    redone = final(say(a, sid, "redo"))
    assert redone["action"] == "redo"
    assert httpx.get(f"{b}/v1/sessions/{sid}", headers=auth(KEY_A)).json()["head"] == redone["head"]

    # Concurrent sends through different replicas: one 200, one 409 while the first still runs.
    tool.close_gate()
    first: list[httpx.Response] = []
    sender = threading.Thread(target=lambda: first.append(say(a, sid, "make it black and white")))
    sender.start()
    assert tool.entered.acquire(timeout=60), "replica A never reached the editor"
    busy = say(b, sid, "make it black and white")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "session_busy", busy.text
    tool.gate.set()
    sender.join(60)
    assert final(first[0])["action"] == "edit"
    edits_before_kill = len(httpx.get(f"{b}/v1/sessions/{sid}/revisions", headers=auth(KEY_A)).json()["revisions"])

    # Kill A mid-turn: its lock dies with its connection; B finishes the cut-short edit once and goes on.
    tool.close_gate()
    calls = tool.calls
    killed = threading.Thread(target=lambda: say_ignoring_errors(a, sid, "make it black and white"))
    killed.start()
    assert tool.entered.acquire(timeout=60)
    replicas[0][0].send_signal(signal.SIGKILL)
    replicas[0][0].wait()
    killed.join(30)
    tool.gate.set()
    after = final(say(b, sid, "undo"))
    assert after["action"] == "undo", after
    revisions = httpx.get(f"{b}/v1/sessions/{sid}/revisions", headers=auth(KEY_A)).json()["revisions"]
    assert len(revisions) == edits_before_kill + 1  # the killed turn's edit, made once, not twice
    assert tool.calls == calls + 2  # A's call that was cut short, and B's one that finished it
    assert child_b.poll() is None


def say_ignoring_errors(url: str, sid: str, text: str) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the replica dies under this request: that is the test
        say(url, sid, text)
