"""docs/chat-surfaces.md run as written: each server command started (on a free port instead of the page's), each
Python example run as a script against it with an API key, and what it prints checked."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.live_servers import wait_until_answers
from tests.openai_server import free_port
from tests.service_helpers import KEY_A, require_serve_extra

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "chat-surfaces.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


@contextmanager
def started(command: str, workdir: Path, ready_path: str) -> Iterator[str]:
    """A server command of the page, its --port replaced by a free one; its base URL once ``ready_path`` answers."""
    port = free_port()
    argv = shlex.split(re.sub(r"--port \d+", f"--port {port}", command.strip()))
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "DIALOGPAINT_DATA_DIR": str(workdir / "data"),
        "DIALOGPAINT_API_KEYS": KEY_A,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }
    log = workdir / f"{argv[0]}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(process, base + ready_path, log)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def example(code: str, base: str, workdir: Path) -> str:
    """Run a Python example of the page as a script (in ``workdir``) against ``base``; what it printed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DIALOGPAINT_URL": base, "DIALOGPAINT_API_KEY": KEY_A}
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_page_has_its_examples() -> None:
    assert [b.split()[0] for b in blocks("bash")] == ["langgraph", "dialogpaint", "dialogpaint"]
    assert len(blocks("python")) == 4


def test_the_langgraph_server_example(tmp_path: Path) -> None:
    if importlib.util.find_spec("langgraph_api") is None:
        pytest.skip("needs the studio extra: pip install 'dialogpaint[studio]'")
    with started(blocks("bash")[0], tmp_path, "/ok") as base:
        printed = example(blocks("python")[0], base, tmp_path)
    assert "What would you like me to change?" in printed and "/dialogpaint/images/" in printed
    assert "make it brighter and more vivid colors\nDone: make it brighter and more vivid colors." in printed


def test_the_openai_and_agui_examples(tmp_path: Path) -> None:
    require_serve_extra()
    with started(blocks("bash")[1], tmp_path, "/healthz") as base:
        printed = example(blocks("python")[1], base, tmp_path)
        assert printed.splitlines() == [
            "Done: make it black and white.",
            "Undid 1 edit; the image is now the original image.",
        ]
        if importlib.util.find_spec("ag_ui_langgraph") is None:
            pytest.skip("needs the agui extra: pip install 'dialogpaint[agui]'")
        assert example(blocks("python")[2], base, tmp_path).splitlines() == [
            "['on_interrupt']",
            "[None, 'adjust_tone']",
        ]


def test_the_mcp_example(tmp_path: Path) -> None:
    if importlib.util.find_spec("mcp") is None:
        pytest.skip("needs the mcp extra: pip install 'dialogpaint[mcp]'")
    with started(blocks("bash")[2], tmp_path, "/mcp") as base:
        printed = example(blocks("python")[3], base, tmp_path)
    assert printed.splitlines() == ["{'ui://dialogpaint/revisions.html'}", "text/html;profile=mcp-app"]
