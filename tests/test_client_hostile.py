"""The typed client against a broken or hostile server: every bad answer is a ServiceError, never a raw
parser exception, and a streamed turn ends by its deadline with each event bounded (issue 25 item 4)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import pytest

from agent.client import NO_RETRY, AsyncClient, Client, ServiceError
from agent.client.aio import AsyncRemoteSession
from agent.client.answers import BadAnswer, TurnTimeout
from agent.client.sync import RemoteSession
from agent.service.schemas import SessionOut

DEEP = b"[" * 100_000 + b"]" * 100_000
ANSWERS: dict[str, bytes] = {
    "/v1/sessions": b"this is not json",  # an upload answered with text
    "/v1/sessions/shape": b'{"id": 3}',  # JSON, the wrong shape
    "/v1/sessions/deep": DEEP,
    "/v1/sessions/s/revisions": b'{"head": "r", "path": ["r"], "revisions": "nope"}',
    "/v1/sessions/s/revisions/r/image": b"\x89PNG not really",
}


class Hostile(BaseHTTPRequestHandler):
    """Answers each route with what ANSWERS holds, or a turn's stream that misbehaves."""

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, body: bytes, content_type: str = "application/json", status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/v1/sessions/error-deep":
            self.reply(b'{"error": ' + DEEP + b"}", status=404)
            return
        self.reply(ANSWERS.get(self.path, b"{}"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if not self.path.endswith("/messages"):
            self.reply(ANSWERS.get(self.path, b"{}"), status=201)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        session = self.path.split("/")[3]
        try:
            if session == "pings":  # alive for ever, saying nothing
                for _ in range(600):
                    self.wfile.write(b": ping\r\n\r\n")
                    self.wfile.flush()
                    time.sleep(0.05)
            elif session == "huge":  # one event of 300 MB, sent until the client hangs up
                self.wfile.write(b"event: token\r\ndata: ")
                for _ in range(300):
                    self.wfile.write(b"x" * 1_000_000)
            elif session == "garbled":
                self.wfile.write(b"event: reply\r\ndata: {not json\r\n\r\n")
            elif session == "nested":
                self.wfile.write(b"event: step\r\ndata: " + DEEP + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def a_session(client: Client, session_id: str) -> RemoteSession:
    return RemoteSession(client, SessionOut.model_construct(id=session_id))


def test_bad_json_answers_are_bad_answer_errors(hostile):
    with Client(hostile, "key", retry=NO_RETRY) as client:
        with pytest.raises(BadAnswer, match="the new session is not what the API documents"):
            client.open(b"\x89PNG")
        for session_id in ("shape", "deep"):
            with pytest.raises(BadAnswer, match="the session is not what the API documents"):
                client.resume(session_id)
        with pytest.raises(ServiceError, match="http_error: HTTP 404"):  # an error body nested 100,000 deep
            client.resume("error-deep")
        session = a_session(client, "s")
        with pytest.raises(BadAnswer, match="the revisions"):
            session.revisions()
        with pytest.raises(BadAnswer, match="not an image"):
            session.image("r")


@pytest.mark.parametrize(
    ("session_id", "expected", "match"),
    [
        ("pings", TurnTimeout, "did not end within 1 s"),
        ("huge", BadAnswer, "over 4,194,304 bytes"),
        ("garbled", BadAnswer, "the turn's reply event is not what the API documents"),
        ("nested", BadAnswer, "a step event is not JSON: JSON nested deeper than 64"),
    ],
)
def test_a_misbehaving_stream_ends_the_turn_with_a_service_error(hostile, session_id, expected, match):
    with Client(hostile, "key", retry=NO_RETRY, turn_timeout_s=1) as client:
        started = time.monotonic()
        with pytest.raises(expected, match=match):
            a_session(client, session_id).send("hi").result()
        assert time.monotonic() - started < 30


def test_the_async_client_is_as_strict(hostile):
    async def run() -> None:
        async with AsyncClient(hostile, "key", retry=NO_RETRY, turn_timeout_s=1) as client:
            with pytest.raises(BadAnswer):
                await client.resume("deep")
            session = AsyncRemoteSession(client, SessionOut.model_construct(id="s"))
            with pytest.raises(BadAnswer, match="not an image"):
                await session.image("r")
            for session_id, expected in (("pings", TurnTimeout), ("huge", BadAnswer)):
                stuck = AsyncRemoteSession(client, SessionOut.model_construct(id=session_id))
                with pytest.raises(expected):
                    await (await stuck.send("hi")).result()

    anyio.run(run)
