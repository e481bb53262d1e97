"""A real S3-compatible server for tests: moto's server mode on 127.0.0.1, one fresh bucket per test."""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from graphs.storage.s3_store import S3ImageStore, S3Location, s3_client

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 server in a thread on a free port; its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def new_bucket(endpoint: str, **timeouts: float) -> S3ImageStore:
    """A store on a freshly created bucket at ``endpoint``."""
    location = S3Location(bucket=f"dp-{secrets.token_hex(6)}", endpoint_url=endpoint, **timeouts)  # type: ignore[arg-type]
    s3_client(location).create_bucket(Bucket=location.bucket)
    return S3ImageStore(location)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials for moto through the usual AWS environment variables, never the machine's real ones."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3_endpoint(aws_env: None) -> Iterator[str]:
    """The endpoint URL of a moto S3 server running for this test."""
    with moto_server() as endpoint:
        yield endpoint


@contextmanager
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers: storage that is too slow."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        sock.close()
