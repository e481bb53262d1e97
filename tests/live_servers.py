"""Real servers on 127.0.0.1 for the client and MCP tests: `dialogpaint serve` as a process, an app in a
uvicorn thread, and a TCP proxy that cuts one streamed response short (a dropped connection)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from tests.openai_server import free_port


@contextmanager
def dialogpaint_serve(workdir: Path, **env: str) -> Iterator[str]:
    """`dialogpaint serve` (embedded policy, CPU tools) on a free port; its base URL until the block ends."""
    port = free_port()
    environ = {**os.environ, "DIALOGPAINT_DATA_DIR": str(workdir / "data"), **env}
    command = [sys.executable, "-c", "from agent.cli import main; main()", "serve", "--port", str(port)]
    log_path = workdir / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"the server did not start:\n{log_path.read_text()}")
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def uvicorn_thread(app: Any, start_within: float = 30, **config: Any) -> Iterator[str]:
    """Run an ASGI app under uvicorn in a thread on a free 127.0.0.1 port (started within ``start_within``
    seconds; ``config`` goes to uvicorn.Config); yield its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_within
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class CuttingProxy:
    """Forwards TCP to ``upstream``; the first response to a request holding ``marker`` is cut right after
    its first Server-Sent Event, as a dropped mobile connection would."""

    def __init__(self, upstream_port: int, marker: bytes) -> None:
        self.upstream_port = upstream_port
        self.marker = marker
        self.armed = True
        self.cuts = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        target = threading.Event()

        def forward_requests() -> None:
            try:
                while data := client.recv(65536):
                    if self.armed and self.marker in data:
                        self.armed = False
                        target.set()
                    upstream.sendall(data)
            except OSError:
                pass

        threading.Thread(target=forward_requests, daemon=True).start()
        try:
            while data := upstream.recv(65536):
                at = data.find(b"event: ")
                if target.is_set() and at >= 0:
                    end = data.find(b"\n\n", at)  # fastapi.sse ends each event with a blank line
                    client.sendall(data[: end + 2 if end >= 0 else len(data)])
                    self.cuts += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        finally:
            for end in (client, upstream):  # shutdown first: the other thread's recv holds the socket open
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self.listener.close()


def fetch(url: str) -> tuple[int, bytes]:
    """GET a URL as a browser's <img> would (no Authorization header): its status and body."""
    import urllib.error

    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def wait_until_answers(process: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float = 120) -> None:
    """Wait until ``url`` answers with any status (401 without a key counts: the server is up); fail with
    the server's log if its process ends or ``timeout_s`` passes first."""
    import urllib.error

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.5)
