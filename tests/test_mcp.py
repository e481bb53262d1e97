"""`dialogpaint mcp` through the MCP SDK's own client: in process, as a stdio subprocess, and over HTTP with keys."""

from __future__ import annotations

import base64
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from PIL import Image, ImageStat

from agent.samples import landscape
from agent.session.engine import Engine
from tests.conftest import require_system
from tests.live_servers import uvicorn_thread
from tests.service_helpers import KEY_A, KEY_B, png


def require_mcp_extra() -> None:
    import importlib.util

    missing = [m for m in ("mcp", "fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    require_system("the mcp extra", not missing, f"missing {', '.join(missing)}: pip install -e '.[mcp]'")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    from agent.settings import Settings
    from agent.wiring import create_engine

    with create_engine(Settings(data_dir=tmp_path / "data")) as built:
        yield built


def facts(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return dict(result.structured_content)


def brightness(result: Any) -> float:
    image = next(c for c in result.content if c.type == "image")
    assert image.mime_type == "image/png"
    return float(ImageStat.Stat(Image.open(io.BytesIO(base64.b64decode(image.data))).convert("L")).mean[0])


def error_text(result: Any) -> str:
    assert result.is_error
    return str(result.content[0].text)


def test_clarify_confirm_edit_undo_in_process(engine: Engine) -> None:
    require_mcp_extra()
    from mcp import Client

    from agent.mcp_server.server import Access, build_server
    from agent.service.auth import KeyRing

    server = build_server(engine, Access(KeyRing([])))
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async def dialogue() -> None:
        async with Client(server) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert {"open_session", "send_message", "answer_confirmation", "undo", "redo", "list_revisions"} <= names
            image = base64.b64encode(png(landscape(160, 108))).decode()
            opened = await client.call_tool("open_session", {"image_base64": image})
            session, original = facts(opened)["session_id"], facts(opened)["head"]
            asked = await client.call_tool("send_message", {"session_id": session, "text": "make it look better"})
            assert facts(asked)["action"] == "clarify" and "?" in asked.content[0].text
            said = {"session_id": session, "text": "brighter and more vivid colours"}
            assert facts(await client.call_tool("send_message", said))["action"] == "confirm"
            answer = {"session_id": session, "approve": True}
            edited = await client.call_tool("answer_confirmation", answer, progress_callback=on_progress)
            assert facts(edited)["action"] == "edit" and facts(edited)["head"] != original
            assert brightness(edited) > brightness(opened) + 5
            assert error_text(await client.call_tool("answer_confirmation", answer)).startswith("nothing in session")
            undone = await client.call_tool("undo", {"session_id": session})
            assert facts(undone)["head"] == original and facts(undone)["action"] == "undo"
            listing = facts(await client.call_tool("list_revisions", {"session_id": session}))
            assert listing["path"] == [original] and len(listing["revisions"]) == 2
            edit_uri = listing["revisions"][1]["uri"]
            blob = (await client.read_resource(edit_uri)).contents[0]
            assert Image.open(io.BytesIO(base64.b64decode(blob.blob))).size == (160, 108)
            history = json.loads(
                (await client.read_resource(f"dialogpaint://sessions/{session}/history")).contents[0].text
            )
            assert [turn["role"] for turn in history["history"]][:2] == ["user", "assistant"]
            reopened = await client.call_tool("open_session", {"resource_uri": edit_uri})
            assert brightness(reopened) == pytest.approx(brightness(edited))
            too_long = await client.call_tool("send_message", {"session_id": session, "text": "x" * 2001})
            assert error_text(too_long) == "the message is 2001 characters; the limit is 2000"
            missing = await client.call_tool("undo", {"session_id": "nope"})
            assert error_text(missing) == "no session 'nope' in this data directory"

    anyio.run(dialogue)
    assert any(message == "step edit" for _, _, message in progress)


def test_the_desktop_client_config_in_the_docs_starts_a_stdio_server_that_edits(tmp_path: Path) -> None:
    """Starts `dialogpaint mcp` exactly as docs/embedding.md's mcpServers entry says, then edits and undoes."""
    require_mcp_extra()
    from mcp import Client, StdioServerParameters

    from tests.test_embedding_docs import blocks

    entry: dict[str, Any] = json.loads(blocks("json")[0])["mcpServers"]["dialogpaint"]
    assert entry["command"] == "dialogpaint"  # run as this interpreter's console script would run it
    picture = tmp_path / "in.png"
    landscape(96, 64).save(picture)
    env = {**os.environ, **entry["env"], "DIALOGPAINT_DATA_DIR": str(tmp_path / "data")}
    argv = ["-c", "from agent.cli import main; main()", *entry["args"]]
    command = StdioServerParameters(command=sys.executable, args=argv, env=env, cwd=os.getcwd())

    async def dialogue() -> tuple[str, str, str]:
        async with Client(command) as client:
            opened = facts(await client.call_tool("open_session", {"image_path": str(picture)}))
            said = {"session_id": opened["session_id"], "text": "make it brighter"}
            edited = facts(await client.call_tool("send_message", said))
            undone = facts(await client.call_tool("undo", {"session_id": opened["session_id"]}))
            return edited["action"], undone["head"], opened["head"]

    action, head, original = anyio.run(dialogue)
    assert action == "edit" and head == original


def test_a_bug_or_a_store_fault_inside_a_tool_is_a_one_line_tool_error(engine: Engine, monkeypatch, caplog) -> None:
    require_mcp_extra()
    import sqlite3

    from mcp import Client

    from agent.mcp_server.server import Access, Calls, build_server
    from agent.service.auth import KeyRing

    faults = iter([RuntimeError("a bug inside"), sqlite3.OperationalError("database is locked")])

    def broken(self: Calls, principal: Any, session_id: str) -> Any:
        raise next(faults)

    monkeypatch.setattr(Calls, "session", broken)
    server = build_server(engine, Access(KeyRing([])))

    async def calls() -> list[str]:
        async with Client(server) as client:
            return [error_text(await client.call_tool("undo", {"session_id": "any"})) for _ in range(2)]

    bug, locked = anyio.run(calls)
    assert bug == "internal error; it has been logged" and "a bug inside" in caplog.text  # logged, not sent
    assert locked == "the session store cannot be used now (SQLite: database is locked); retry later"


@pytest.fixture
def mcp_http(engine: Engine) -> Iterator[str]:
    """The app `dialogpaint mcp --transport http` serves, with two API keys, under uvicorn on a free port."""
    require_mcp_extra()
    from agent.mcp_server.http import http_app
    from agent.mcp_server.server import Access, build_server
    from agent.service.auth import KeyRing
    from agent.service.limits import RateLimiter

    access = Access(KeyRing([KEY_A, KEY_B]), RateLimiter(60, 20))
    with uvicorn_thread(http_app(build_server(engine, access), access, "127.0.0.1")) as url:
        yield f"{url}/mcp"


def test_http_needs_a_key_keeps_sessions_to_their_key_and_reads_no_server_path(mcp_http: str) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from agent.mcp_server.server import HTTP_PATHS

    refused = httpx.post(mcp_http, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    image = base64.b64encode(png(landscape(64, 48))).decode()

    async def as_key(key: str, tool: str, arguments: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(mcp_http, http_client=http)) as client,
        ):
            return await client.call_tool(tool, arguments)

    async def dialogue() -> tuple[Any, Any]:
        opened = facts(await as_key(KEY_A, "open_session", {"image_base64": image}))
        said = {"session_id": opened["session_id"], "text": "make it brighter"}
        return await as_key(KEY_A, "send_message", said), await as_key(KEY_B, "send_message", said)

    mine, theirs = anyio.run(dialogue)
    assert facts(mine)["action"] == "edit"
    assert error_text(theirs).startswith("no session")

    # A server-side path is refused over HTTP before anything is read: no file is opened, and an
    # existing image, a missing file and a non-image all get the same answer (no existence oracle).
    existing = Path(__file__).resolve().parents[1] / "eval_sets" / "images" / "still-life.png"
    paths = [str(existing), "/nonexistent/x.png", "/etc/passwd"]

    async def by_path() -> list[Any]:
        return [await as_key(KEY_A, "open_session", {"image_path": path}) for path in paths]

    answers = [error_text(result) for result in anyio.run(by_path)]
    assert answers == [HTTP_PATHS] * 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--transport", "tcp"], "error: --transport must be stdio or http, got 'tcp'"),
        (["--transport", "http", "--host", "0.0.0.0"], "error: no API keys are configured, so the MCP server only"),
    ],
)
def test_bad_mcp_options_are_one_error_line(tmp_path: Path, args: list[str], message: str) -> None:
    from typer.testing import CliRunner

    from agent.cli.app import app

    env = {"DIALOGPAINT_DATA_DIR": str(tmp_path / "data"), "DIALOGPAINT_API_KEYS": ""}
    result = CliRunner().invoke(app, ["mcp", *args], env=env)
    assert result.exit_code == 2 and result.output.startswith(message) and len(result.output.splitlines()) == 1
