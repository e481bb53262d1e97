"""The HTTP service's hardening: security headers, closed API docs, slow bodies, per-key work, storage faults."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.settings import Settings
from tests.conftest import require_system
from tests.fakes import RecordingTool, ScriptedChatModel, gradient
from tests.live_servers import free_port, uvicorn_thread
from tests.service_helpers import KEY_A, KEY_B, auth, parse_sse, png, require_serve_extra, send, upload
from tests.test_service import BlockingTool, mirror_call, service  # noqa: F401 (the fixture)


def test_every_response_carries_the_security_headers(service):  # noqa: F811
    from agent.service.deps import owned_session

    client = service([mirror_call()])
    sid = upload(client, KEY_A).json()["id"]
    revision = next(e["data"] for e in send(client, KEY_A, sid, "mirror it") if e["event"] == "revision")
    image = client.get(revision["image_url"], headers=auth(KEY_A))
    page, session = client.get("/"), client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A))
    missing = client.get("/v1/sessions/nope", headers=auth(KEY_A))
    too_big = client.post(f"/v1/sessions/{sid}/messages", content=b"x" * 1_000_000, headers=auth(KEY_A))
    client.app.dependency_overrides[owned_session] = lambda: 1 / 0
    crashed = client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A))
    assert (image.status_code, missing.status_code, too_big.status_code, crashed.status_code) == (200, 404, 413, 500)
    for response in (image, page, session, missing, too_big, crashed, client.get("/static/app.js")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert set(policy["img-src"].split()) >= {"'self'", "blob:"} and policy["connect-src"] == "'self'"
    assert image.headers["content-security-policy"].startswith("default-src 'none'")
    for response in (session, missing, crashed):
        assert response.headers["cache-control"] == "no-store"
    assert "immutable" in image.headers["cache-control"]  # an image is its content hash: it may be cached


def test_api_docs_are_closed_by_default_when_keys_are_set(service, tmp_path):  # noqa: F811
    from fastapi.testclient import TestClient

    from agent.service.app import create_app
    from agent.settings import Settings

    closed = service()
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert closed.get(path).status_code == 404, path
        assert closed.get(path, headers=auth(KEY_A)).status_code == 404, path
    opened = service(api_docs=True)
    assert opened.get("/openapi.json").json()["info"]["title"] == "dialogpaint"
    docs = opened.get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    with TestClient(create_app(Settings(data_dir=tmp_path / "dev", api_keys=""))) as dev:
        assert dev.get("/openapi.json").status_code == 200  # loopback dev mode keeps them open


@contextmanager
def served(tmp_path, script=(), *, tools=None, **overrides) -> Iterator[tuple[str, Any]]:
    """A real uvicorn server on 127.0.0.1 serving a scripted-model engine: (base URL, app)."""
    require_serve_extra()
    from agent.service.app import create_app
    from agent.wiring import create_engine

    settings = Settings(data_dir=tmp_path / "data", api_keys=f"{KEY_A},{KEY_B}", confirm="never", **overrides)
    engine = create_engine(
        settings, model=ScriptedChatModel(script=list(script)), tools=tools or {"mirror": RecordingTool()}
    )
    app = create_app(settings, engine)
    try:
        with uvicorn_thread(app) as base:
            yield base, app
    finally:
        engine.close()


def slow_upload(port: int, key: str) -> socket.socket:
    """A connection that has sent an upload's headers and the first byte of a 10 kB body."""
    conn = socket.create_connection(("127.0.0.1", port))
    head = (
        f"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 10000\r\n\r\n-"
    )
    conn.sendall(head.encode())
    return conn


def test_slow_uploads_hold_no_work_slot_and_time_out_with_408(tmp_path):
    with served(tmp_path, [mirror_call(), mirror_call()], work_slots=1, work_queue=0, work_per_key=1,
                body_timeout_s=2) as (base, app):  # fmt: skip
        port = int(base.rsplit(":", 1)[1])
        with httpx.Client(base_url=base, timeout=30) as client:
            mine = client.post("/v1/sessions", files={"image": ("a.png", png(), "image/png")}, headers=auth(KEY_A))
            theirs = client.post("/v1/sessions", files={"image": ("a.png", png(), "image/png")}, headers=auth(KEY_B))
            queue = app.state.service.runner.queue
            checks: list[str] = []
            checked = queue.check
            queue.check = lambda key: (checks.append(key), checked(key))[1]  # count the admission checks
            slow = [slow_upload(port, KEY_B) for _ in range(3)]
            for conn in slow:
                conn.sendall(b"-")  # trickling, not finished
            # The server reads the three requests' headers (and checks the queue) in its own time: on a
            # loaded machine the turns below could otherwise start first and fill the one slot (503).
            for _ in range(300):
                if len(checks) >= 3:
                    break
                time.sleep(0.05)
            assert len(checks) == 3 and queue.admitted == 0
            for key, sid in ((KEY_A, mine.json()["id"]), (KEY_B, theirs.json()["id"])):
                turn = client.post(f"/v1/sessions/{sid}/messages", json={"text": "mirror it"}, headers=auth(key))
                assert turn.status_code == 200 and parse_sse(turn.text)[-1]["data"]["action"] == "edit", turn.text
        answers = []
        for conn in slow:
            with conn:
                conn.settimeout(30)  # the server answers at its 2 s deadline, whatever the client still sends
                answers.append(conn.makefile("rb").read().decode())
    for answer in answers:
        head, _, body = answer.partition("\r\n\r\n")
        assert head.startswith("HTTP/1.1 408"), answer
        assert json.loads(body)["error"]["code"] == "body_timeout" and "within 2 s" in body
        assert "x-content-type-options: nosniff" in head.lower()


def test_headers_sent_a_byte_at_a_time_get_408_and_the_connection_closes(tmp_path):
    from agent.cli.http_server import header_deadline_protocol
    from agent.service.app import create_app
    from agent.wiring import create_engine

    settings = Settings(data_dir=tmp_path / "data", api_keys=f"{KEY_A},{KEY_B}", confirm="never")
    engine = create_engine(settings, model=ScriptedChatModel(script=[]), tools={"mirror": RecordingTool()})
    try:
        with uvicorn_thread(create_app(settings, engine), http=header_deadline_protocol(1.0)) as base:
            port = int(base.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port)) as slow:
                slow.settimeout(10)
                started, answer = time.monotonic(), b""
                for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200:
                    try:
                        slow.sendall(bytes([byte]))
                    except OSError:  # the server closed the connection
                        break
                    time.sleep(0.05)
                    if time.monotonic() - started > 8:
                        break
                answer = slow.makefile("rb").read()
            assert answer.startswith(b"HTTP/1.1 408 Request Timeout"), answer[:80]
            with httpx.Client(base_url=base, timeout=10) as client:  # prompt clients are served as before
                assert [client.get("/healthz").status_code for _ in range(2)] == [200, 200]
    finally:
        engine.close()


def test_a_full_queue_is_refused_before_any_checkpoint_read(service, monkeypatch):  # noqa: F811
    tool = BlockingTool()
    client = service([mirror_call()], tools={"mirror": tool}, work_slots=1, work_queue=0)
    first, second = (upload(client, KEY_A).json()["id"] for _ in range(2))
    checkpointer = client.app.state.service.engine.graph.checkpointer
    reads: list[Any] = []
    get_tuple = checkpointer.get_tuple
    monkeypatch.setattr(checkpointer, "get_tuple", lambda config: reads.append(config) or get_tuple(config))
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(send, client, KEY_A, first, "mirror it")
        assert tool.started.wait(20)
        before = len(reads)
        refused = [
            client.post(f"/v1/sessions/{second}/messages", json={"text": "hi"}, headers=auth(KEY_A)),
            client.post(f"/v1/sessions/{second}/undo", headers=auth(KEY_A)),
            client.post(f"/v1/sessions/{second}/confirmation", json={"approve": True}, headers=auth(KEY_B)),
            client.delete(f"/v1/sessions/{second}", headers=auth(KEY_A)),
            upload(client, KEY_B),
        ]
        assert [r.json()["error"]["code"] for r in refused] == ["overloaded"] * 5
        assert len(reads) == before  # refused before the session was even looked up
        tool.release.set()
        running.result(timeout=20)
    assert client.get(f"/v1/sessions/{second}", headers=auth(KEY_A)).status_code == 200


def test_one_key_cannot_take_the_whole_queue(service):  # noqa: F811
    tool = BlockingTool()
    client = service([mirror_call()] * 3, tools={"mirror": tool}, work_slots=1, work_queue=3, work_per_key=2)
    a1, a2, a3 = (upload(client, KEY_A).json()["id"] for _ in range(3))
    b1 = upload(client, KEY_B).json()["id"]
    queue = client.app.state.service.runner.queue
    with ThreadPoolExecutor(3) as pool:
        running = [pool.submit(send, client, KEY_A, a1, "mirror it")]
        assert tool.started.wait(20)
        running.append(pool.submit(send, client, KEY_A, a2, "mirror it"))
        while queue.admitted < 2:
            threading.Event().wait(0.01)
        third = client.post(f"/v1/sessions/{a3}/messages", json={"text": "mirror it"}, headers=auth(KEY_A))
        assert third.status_code == 429 and third.json()["error"]["code"] == "too_many_runs"
        assert third.headers["retry-after"] == "5" and "2 runs" in third.json()["error"]["message"]
        running.append(pool.submit(send, client, KEY_B, b1, "mirror it"))  # another key still gets in
        while queue.admitted < 3:
            threading.Event().wait(0.01)
        tool.release.set()
        assert [r.result(timeout=20)[-1]["data"]["action"] for r in running] == ["edit"] * 3
    assert queue.admitted == 0 and queue.by_key == {}


HOLD_WRITE_LOCK = (
    "import sqlite3, sys\nconn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "conn.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\nsys.stdin.read()\n"
)


def test_sqlite_locked_by_another_process_is_503_and_loses_nothing(service, tmp_path):  # noqa: F811
    client = service([mirror_call(), mirror_call()], state_store_timeout_s=0.5, retry_after_s=3)
    sid = upload(client, KEY_A).json()["id"]
    assert send(client, KEY_A, sid, "mirror it")[-1]["data"]["action"] == "edit"
    database = str(tmp_path / "data" / "sessions.sqlite")
    command = [sys.executable, "-c", HOLD_WRITE_LOCK, database]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as other:
        assert other.stdout is not None and other.stdout.readline() == "locked\n"
        undo = client.post(f"/v1/sessions/{sid}/undo", headers=auth(KEY_A))
        assert undo.status_code == 503 and undo.headers["retry-after"] == "3", undo.text
        assert undo.json()["error"]["code"] == "state_store_unavailable" and "database is locked" in undo.text
        turn = send(client, KEY_A, sid, "mirror it")
        assert turn[-1]["event"] == "error" and turn[-1]["data"]["code"] == "state_store_unavailable"
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["error"]["code"] == "unhealthy"
        assert "database is locked" in health.json()["checks"]["checkpointer"]
        assert health.json()["checks"]["images"] == "ok"
        assert client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).status_code == 200  # WAL: reads go on
        other.communicate("")
    assert client.get("/healthz").status_code == 200
    session = client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).json()
    assert len(session["revisions"]) == 2 and [t["role"] for t in session["history"]] == ["user", "assistant"]
    assert send(client, KEY_A, sid, "mirror it")[-1]["data"]["action"] == "edit"


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 24 MiB tmpfs (needs root to mount), unmounted after the test."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(disk)], capture_output=True, check=False
    )
    require_system("a tmpfs mount", mounted.returncode == 0, mounted.stderr.decode(errors="replace").strip())
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_is_503_and_healthz_says_so(small_disk):
    from fastapi.testclient import TestClient

    from agent.service.app import create_app
    from agent.wiring import create_engine

    settings = Settings(data_dir=small_disk / "data", api_keys=KEY_A, retry_after_s=4)
    engine = create_engine(settings, tools={"mirror": RecordingTool()})
    with engine, TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        sid = upload(client, KEY_A).json()["id"]
        filler = small_disk / "filler"
        with filler.open("wb") as handle, contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 65536)
        full = upload(client, KEY_A, png(gradient((200, 160))))
        assert full.status_code == 503 and full.headers["retry-after"] == "4", full.text
        assert full.json()["error"]["code"] == "state_store_unavailable"
        assert "No space left on device" in full.json()["error"]["message"]
        assert str(small_disk) not in full.text  # no paths
        health = client.get("/healthz")
        assert health.status_code == 503 and "bytes free" in health.json()["checks"]["images"]
        filler.unlink()
        assert client.get("/healthz").status_code == 200
        assert upload(client, KEY_A, png(gradient((200, 160)))).status_code == 201
        assert len(client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).json()["revisions"]) == 1


def test_a_storage_fault_503_keeps_the_keep_alive_connection(tmp_path):
    # Starlette re-raised every error it answered, so uvicorn dropped the connection after the 503 and
    # the client's next request on it met ECONNRESET.
    from agent.service.app import create_app
    from agent.wiring import create_engine

    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY_A, state_store_timeout_s=0.5, retry_after_s=3)
    engine = create_engine(settings, model=ScriptedChatModel(script=[]), tools={"mirror": RecordingTool()})
    try:
        with uvicorn_thread(create_app(settings, engine)) as base, httpx.Client(base_url=base, timeout=30) as client:
            sid = upload(client, KEY_A).json()["id"]
            command = [sys.executable, "-c", HOLD_WRITE_LOCK, str(tmp_path / "data" / "sessions.sqlite")]
            with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as other:
                assert other.stdout is not None and other.stdout.readline() == "locked\n"
                # One raw keep-alive connection: two uploads on it, each answered 503, none reset.
                image = png(gradient((40, 30)))
                body = (
                    b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
                    b"Content-Type: image/png\r\n\r\n" + image + b"\r\n--b--\r\n"
                )
                request = (
                    f"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY_A}\r\n"
                    f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                port = int(base.rsplit(":", 1)[1])
                with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
                    reader = conn.makefile("rb")
                    heads = []
                    for _ in range(2):
                        conn.sendall(request)
                        head = reader.readline().decode()
                        while (line := reader.readline()) not in (b"\r\n", b""):
                            if line.lower().startswith(b"content-length:"):
                                length = int(line.split(b":")[1])
                        heads.append(head)
                        body = reader.read(length)
                        assert b"state_store_unavailable" in body, body
                other.communicate("")
            assert heads == ["HTTP/1.1 503 Service Unavailable\r\n"] * 2
            assert client.post(f"/v1/sessions/{sid}/undo", headers=auth(KEY_A)).status_code == 200
    finally:
        engine.close()


def test_a_disk_filling_during_an_edit_is_a_storage_error_not_a_tool_crash(small_disk):
    from fastapi.testclient import TestClient

    from agent.service.app import create_app
    from agent.wiring import create_engine

    class Filling(RecordingTool):  # fills the disk while it edits, as a big result would
        def __call__(self, image, params, *, seed, **kwargs):  # type: ignore[no-untyped-def]
            with (small_disk / "filler").open("wb") as handle, contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * 65536)
            return super().__call__(image, params, seed=seed, **kwargs)

    settings = Settings(data_dir=small_disk / "data", api_keys=KEY_A, retry_after_s=4, confirm="never")
    engine = create_engine(settings, model=ScriptedChatModel(script=[mirror_call()]), tools={"mirror": Filling()})
    with engine, TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        sid = upload(client, KEY_A).json()["id"]
        events = send(client, KEY_A, sid, "mirror it")
        assert events[-1]["event"] == "error" and events[-1]["data"]["code"] == "state_store_unavailable", events[-1]
        message = events[-1]["data"]["message"]  # the image write or the checkpoint write meets the full disk first
        assert ("No space left on device" in message or "disk is full" in message) and "crashed" not in str(events)
        assert str(small_disk) not in str(events)  # no paths


def test_healthz_fails_while_a_ready_tool_reports_itself_broken(service):  # noqa: F811
    class GpuEditor(RecordingTool):
        broken: str | None = None

        def unavailable_reason(self) -> str | None:
            return self.broken

    editor = GpuEditor()
    client = service(tools={"mirror": editor})
    assert client.get("/healthz").json()["checks"]["tool:mirror"] == "ok"
    editor.broken = "CUDA error: an illegal memory access was encountered; reload the tool"
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    assert health.json()["checks"]["tool:mirror"] == editor.broken and "tool:mirror: CUDA error" in health.text
    editor.broken = None  # reloaded
    assert client.get("/healthz").status_code == 200


CI_POSTGRES = Path(__file__).resolve().parents[1] / "scripts" / "ci-postgres.sh"


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, Any]]:
    """A throwaway Postgres cluster of this test's own (it is stopped mid-test): (URL, stop/start)."""
    where = Path(tempfile.mkdtemp(prefix="dialogpaint-pg-"))  # not under tmp_path: the postgres user needs access
    port = str(free_port())
    started = subprocess.run([str(CI_POSTGRES), "start", str(where), port], capture_output=True, text=True, check=False)
    require_system("PostgreSQL", started.returncode == 0, started.stderr.strip()[-200:])
    require_system(
        "the postgres extra", importlib.util.find_spec("psycopg_pool") is not None, "pip install psycopg-pool"
    )

    def control(action: str) -> None:
        subprocess.run([str(CI_POSTGRES), action, str(where), port], capture_output=True, check=True)

    try:
        yield started.stdout.strip(), control
    finally:
        subprocess.run([str(CI_POSTGRES), "stop", str(where)], capture_output=True, check=False)
        shutil.rmtree(where, ignore_errors=True)


def test_postgres_down_is_a_prompt_503_and_sessions_come_back(own_postgres, tmp_path):
    from fastapi.testclient import TestClient

    from agent.service.app import create_app
    from agent.wiring import create_engine

    url, control = own_postgres
    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY_A, checkpoint_url=url, state_store_timeout_s=1)
    engine = create_engine(settings, model=ScriptedChatModel(script=[mirror_call()]), tools={"mirror": RecordingTool()})
    with engine, TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        sid = upload(client, KEY_A).json()["id"]
        assert send(client, KEY_A, sid, "mirror it")[-1]["data"]["action"] == "edit"
        control("stop")
        down = client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A))
        assert down.status_code == 503 and down.json()["error"]["code"] == "state_store_unavailable", down.text
        assert "Postgres unreachable" in down.text and "retry-after" in down.headers
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["checks"]["checkpointer"] != "ok"
        control("start")
        session = client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A))
        assert session.status_code == 200 and len(session.json()["revisions"]) == 2
        assert client.get("/healthz").status_code == 200
