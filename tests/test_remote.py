"""The remote tool adapter against a real uvicorn server on 127.0.0.1: round trip, errors, limits, timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageOps
from pydantic import BaseModel, Field, ValidationError

from agent.settings import Settings
from agent.wiring import build_tool_app, build_tools, create_engine
from graphs.specs import edit_tool_schema
from tests.fakes import RecordingTool, ai, call, gradient
from tests.live_servers import free_port, uvicorn_thread
from tools.errors import EditFailed, InvalidEditRequest, RegistryError, ToolUnavailable
from tools.images import encode_png
from tools.remote import RemoteLimits, connect_remote_tool
from tools.serving import ToolApp

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def served() -> Iterator[tuple[RecordingTool, str]]:
    tool = RecordingTool()
    with uvicorn_thread(ToolApp(tool, max_body_bytes=200_000, max_pixels=100_000), start_within=10) as url:
        yield tool, url


def test_an_edit_round_trips_through_a_session(served, make_session, tmp_path):
    tool, url = served
    remote = connect_remote_tool("mirror", url)
    local = edit_tool_schema(tool)["function"]
    schema = edit_tool_schema(remote)["function"]
    assert schema["parameters"] == local["parameters"]
    assert (
        schema["description"]
        == "Mirror the image left to right (fake tool for tests). Runs on a remote server, cost low."
    )
    session = make_session([ai(call("mirror", instruction="mirror it", strength=2))], tools={"mirror": remote})
    reply = session.send("mirror it")
    assert reply.action == "edit" and len(reply.revisions) == 2, reply.text
    (size, params, seed), *_ = tool.calls
    assert size == (64, 48) and params == {"strength": 2} and seed == session.head["params"]["seed"]
    edited = Image.open(session.export(tmp_path / "edited.png"))
    assert edited.tobytes() == ImageOps.mirror(gradient()).tobytes()


def test_rebuilt_params_refuse_bad_arguments_before_any_request(served):
    tool, url = served
    remote = connect_remote_tool("mirror", url)
    with pytest.raises(ValidationError, match="less than or equal to 3"):
        remote.Params.model_validate({"strength": 99})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        remote.Params.model_validate({"colour": "red"})
    assert tool.calls == []


@pytest.mark.parametrize(
    ("raised", "expected", "message"),
    [
        (InvalidEditRequest("the mirror has no left side"), InvalidEditRequest, "HTTP 422): the mirror has no left"),
        (ToolUnavailable("no GPU on this box"), ToolUnavailable, "unavailable on its server: no GPU on this box"),
        (EditFailed("the editor ran out of paint"), EditFailed, "HTTP 500): the editor ran out of paint"),
        (ZeroDivisionError("oops"), EditFailed, "the mirror tool crashed (ZeroDivisionError)"),
    ],
)
def test_server_errors_map_to_tool_errors(served, raised, expected, message):
    tool, url = served
    remote = connect_remote_tool("mirror", url)
    tool.fail_with = raised
    with pytest.raises(expected) as error:
        remote(gradient(), remote.Params(), seed=1)
    assert type(error.value) is expected and message in str(error.value)


def test_size_limits_on_both_sides(served):
    tool, url = served
    noise = Image.effect_noise((200, 150), 64).convert("RGB")  # noise does not compress: ~45 kB of PNG
    remote = connect_remote_tool("mirror", url)
    with pytest.raises(InvalidEditRequest, match=r"HTTP 400\): the image is 400x400 = 160,000 pixels"):
        remote(Image.new("RGB", (400, 400)), remote.Params(), seed=1)  # over the server's pixel limit
    tight = type(remote)(url, RemoteLimits(max_request_bytes=10_000))
    with pytest.raises(InvalidEditRequest, match=r"accepts up to 10,000 bytes"):
        tight(noise, remote.Params(), seed=1)
    small_answers = type(remote)(url, RemoteLimits(max_response_bytes=2_000))
    with pytest.raises(EditFailed, match=r"/v1/edit answered [\d,]+ bytes; the limit is 2,000 bytes"):
        small_answers(noise, remote.Params(), seed=1)
    assert len(tool.calls) == 1  # only the last request reached the tool
    body = encode_png(Image.effect_noise((600, 400), 64).convert("RGB"))
    answer = httpx.post(f"{url}/v1/edit", content=body, headers={"content-type": "image/png"})
    assert answer.status_code == 413 and "the limit is 200,000 bytes" in answer.json()["error"]["message"]


def test_a_slow_service_times_out(make_session):
    release = threading.Event()

    class Slow(RecordingTool):
        def __call__(self, image: Image.Image, params: Any, **kwargs: Any) -> Image.Image:
            release.wait(10)
            return image

    with uvicorn_thread(ToolApp(Slow()), start_within=10) as url:
        remote = connect_remote_tool("mirror", url, RemoteLimits(read_timeout_s=0.3))
        try:
            session = make_session([ai(call("mirror", instruction="mirror it"))], tools={"mirror": remote})
            reply = session.send("mirror it")
        finally:
            release.set()
    assert reply.error and "did not answer within 0.3 s" in reply.text and len(reply.revisions) == 1


def test_unreachable_wrong_or_broken_services_are_named(served):
    _, url = served
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError, match=rf"remote tool 'mirror' at {closed}: {closed}/v1/tool is unreachable"):
        connect_remote_tool("mirror", closed)
    with pytest.raises(RegistryError, match=rf"remote tool 'blur' at {url}: the service serves 'mirror', not 'blur'"):
        connect_remote_tool("blur", url)
    remote = connect_remote_tool("mirror", url)
    with pytest.raises(ToolUnavailable, match="/v1/edit is unreachable"):
        type(remote)(closed, RemoteLimits())(gradient(), remote.Params(), seed=1)

    async def junk(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        status, body = (200, b"\x89PNG not really") if scope["path"] == "/v1/edit" else (502, b"<h1>Bad Gateway</h1>")
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    with uvicorn_thread(junk, start_within=10) as junk_url:
        with pytest.raises(EditFailed, match="sent back an unusable image: not a PNG, JPEG or WebP image"):
            type(remote)(junk_url, RemoteLimits())(gradient(), remote.Params(), seed=1)
        with pytest.raises(RegistryError, match=r"answered HTTP 502: <h1>Bad Gateway</h1>"):
            connect_remote_tool("mirror", junk_url)


def test_a_refused_service_leaves_no_client_open(served, monkeypatch):
    _, url = served
    clients: list[httpx.Client] = []

    class Recorded(httpx.Client):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            clients.append(self)

    monkeypatch.setattr(httpx, "Client", Recorded)
    for name, where in (("blur", url), ("mirror", f"http://127.0.0.1:{free_port()}")):
        with pytest.raises(RegistryError):
            connect_remote_tool(name, where)
    assert len(clients) == 2 and all(c.is_closed for c in clients)
    remote = connect_remote_tool("mirror", url)
    assert not remote.client.is_closed  # a connected tool keeps its client
    remote.client.close()


def test_the_http_contract(served):
    tool, url = served
    png = encode_png(gradient())
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "tool": "mirror"}
    info = httpx.get(f"{url}/v1/tool").json()
    assert info["name"] == "mirror" and info["capabilities"]["device"] == "cpu"
    assert info["params_schema"]["properties"]["strength"]["maximum"] == 3
    cases = [
        ("GET", "/nope", {}, 404, "no route /nope"),
        ("GET", "/v1/edit", {}, 405, "/v1/edit takes POST, not GET"),
        ("POST", "/v1/edit", {"content-type": "text/plain"}, 415, "send the image as image/png"),
        ("POST", "/v1/edit", {"content-type": "image/png", "x-dialogpaint-seed": "-1"}, 400, "non-negative integer"),
        ("POST", "/v1/edit", {"content-type": "image/png", "x-dialogpaint-params": "{"}, 422, "Invalid JSON"),
        ("POST", "/v1/edit", {"content-type": "image/png", "x-dialogpaint-params": '{"strength":9}'}, 422, "strength"),
    ]
    for method, path, headers, status, message in cases:
        answer = httpx.request(method, f"{url}{path}", content=png, headers=headers)
        assert answer.status_code == status and message in answer.json()["error"]["message"], (path, answer.text)
    ok = httpx.post(f"{url}/v1/edit", content=png, headers={"content-type": "image/png", "x-dialogpaint-seed": "7"})
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"
    assert tool.calls == [((64, 48), {"strength": 1}, 7)]


def test_settings_wire_remote_tools_into_the_registry(served, tmp_path, monkeypatch):
    _, url = served
    monkeypatch.setenv("DIALOGPAINT_REMOTE_TOOLS", json.dumps({"mirror": url}))
    tools = build_tools(Settings(data_dir=tmp_path))
    assert tools["mirror"].capabilities.device == "remote" and "grayscale" in tools
    with create_engine(Settings(data_dir=tmp_path)) as engine:
        client = engine.deps.tools["mirror"].client
        assert not client.is_closed
    assert client.is_closed  # the engine owns the connection pools of the remote tools it built

    class Pix2Pix(RecordingTool):
        name = "instruct_pix2pix"

    with uvicorn_thread(ToolApp(Pix2Pix()), start_within=10) as gpu_box:
        tools = build_tools(Settings(data_dir=tmp_path, remote_tools={"instruct_pix2pix": gpu_box}))
    assert tools["instruct_pix2pix"].capabilities.device == "remote"  # replaces the local diffusion editor
    with pytest.raises(ValidationError, match="remote tool URLs must be http"):
        Settings(remote_tools={"mirror": "ftp://x"})


def test_serve_tool_command_serves_a_registered_tool(tmp_path):
    port = free_port()
    env = {**os.environ, "DIALOGPAINT_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "agent.cli", "serve-tool", "grayscale", "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        remote = None
        deadline = time.monotonic() + 30
        while remote is None:
            try:
                remote = connect_remote_tool("grayscale", f"http://127.0.0.1:{port}")
            except RegistryError:
                assert server.poll() is None and time.monotonic() < deadline, server.communicate()
                time.sleep(0.1)
        grey = remote(gradient(), remote.Params(), seed=0)
        r, g, b = grey.split()
        assert r.tobytes() == g.tobytes() == b.tobytes() != gradient().split()[0].tobytes()
    finally:
        server.terminate()
        server.wait(10)
    with pytest.raises(RegistryError, match="no tool named 'nope' to serve; known: adjust_tone, grayscale"):
        build_tool_app("nope", Settings(data_dir=tmp_path))
    with pytest.raises(ToolUnavailable, match=r"cannot serve instruct_pix2pix here: .* no model configured"):
        build_tool_app("instruct_pix2pix", Settings(data_dir=tmp_path))  # not a server that 503s every edit


class TaggedParams(BaseModel):
    """Mirror the image, with tags."""

    tags: list[str] = Field(default_factory=list)


class Tagged(RecordingTool):
    name = "tagged"
    Params = TaggedParams


def test_fields_left_out_get_the_servers_defaults_even_without_one_in_the_schema():
    tool = Tagged()
    with uvicorn_thread(ToolApp(tool), start_within=10) as url:
        remote = connect_remote_tool("tagged", url)
        remote(gradient(), remote.Params(), seed=0)  # a default_factory: no "default" in the schema
        remote(gradient(), remote.Params(tags=["a"]), seed=0)
    assert [params for _, params, _ in tool.calls] == [{"tags": []}, {"tags": ["a"]}]
