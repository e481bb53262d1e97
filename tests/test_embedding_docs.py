"""docs/embedding.md's examples, extracted and run as written: both clients, the subgraph and the tool."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_servers import uvicorn_thread
from tests.service_helpers import require_serve_extra

DOC = Path(__file__).resolve().parents[1] / "docs" / "embedding.md"


def blocks(language: str) -> list[str]:
    """The page's fenced blocks in one language (the JSON MCP client config is run by tests/test_mcp.py)."""
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def run(code: str) -> None:
    """Run an example as a script would run (a module of its own, so LangGraph can resolve its type hints)."""
    module = types.ModuleType("embedding_example")
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, str(DOC), "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The HTTP service on a free port, its URL where the examples read it."""
    require_serve_extra()
    from agent.service.app import create_app
    from agent.settings import Settings

    with uvicorn_thread(create_app(Settings(data_dir=tmp_path / "data"))) as url:
        monkeypatch.setenv("DIALOGPAINT_SERVICE_URL", url)
        yield


def test_the_page_has_every_example() -> None:
    assert len(blocks("json")) == 1 and len(blocks("python")) == 4


def test_the_client_examples_run(service: None, capsys: pytest.CaptureFixture[str]) -> None:
    sync, asynchronous = blocks("python")[:2]
    run(sync)
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2:] == ["confirmation_pending", "True"] and printed[0] == "step decide"
    run(asynchronous)
    assert capsys.readouterr().out.splitlines()[-2:] == ["edit", "2"]


def test_the_subgraph_and_tool_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    subgraph, tool = blocks("python")[2:]
    run(subgraph)
    assert capsys.readouterr().out.strip().endswith("Shall I go ahead?")
    run(tool)
    printed = capsys.readouterr().out.splitlines()
    assert "[edit; current revision r_" in printed[0] and printed[1] == "undo"
