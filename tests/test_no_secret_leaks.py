"""A password in the --llm URL of a real unreachable server surfaces nowhere: replies, logs, checkpoints, eval files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tests.openai_server import free_port

pytest.importorskip("langchain_openai")

SECRET = "s3cr3t-hunter2"


def unreachable_url() -> str:
    """An OpenAI base URL with a user and password, on a loopback port nothing listens on."""
    return f"http://alice:{SECRET}@127.0.0.1:{free_port()}/v1"


def every_byte(folder: Path) -> bytes:
    """The bytes of every file under ``folder`` (SQLite database, WAL, images, reports)."""
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def test_reply_logs_and_the_sqlite_checkpoint_never_hold_the_password(tmp_path, caplog):
    from agent.settings import Settings
    from agent.wiring import create_engine
    from tests.fakes import gradient

    caplog.set_level(logging.DEBUG)  # openai's and httpx's own debug lines included
    settings = Settings(data_dir=tmp_path / "data", llm=unreachable_url(), llm_max_retries=1, llm_connect_timeout_s=1)
    with create_engine(settings) as engine:
        reply = engine.open(gradient()).send("hello")
    assert "cannot be reached" in reply.text and "http://***@127.0.0.1:" in reply.text
    assert SECRET not in reply.text
    assert "Connection error" in caplog.text and SECRET not in caplog.text
    database = every_byte(tmp_path / "data")
    assert b"cannot be reached" in database  # the reply is in the checkpoint, only without the password
    assert SECRET.encode() not in database


def test_eval_outputs_and_cli_output_never_hold_the_password(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"id": "d", "turns": [{"user": "make it black and white", "expect": "edit"}]}) + "\n")
    out = tmp_path / "out"
    args = ["eval", str(path), "--out", str(out), "--llm", unreachable_url(), "--data-dir", str(tmp_path / "d")]
    result = CliRunner().invoke(app, args, env={"DIALOGPAINT_LLM_CONNECT_TIMEOUT_S": "1"})
    assert result.exit_code == 0, result.output
    rows = (out / "results.jsonl").read_text()
    assert "cannot be reached" in rows and "***@127.0.0.1" in (out / "metrics.json").read_text()
    assert SECRET.encode() not in every_byte(out)
    assert SECRET not in result.output and SECRET not in caplog.text


def test_doctor_names_the_server_without_the_password(tmp_path):
    result = CliRunner().invoke(app, ["doctor", "--llm", unreachable_url(), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "cannot reach http://***@127.0.0.1:" in result.output
    assert SECRET not in result.output


def test_an_unreachable_remote_tool_is_named_without_the_password():
    from tools.errors import RegistryError
    from tools.remote import RemoteLimits, connect_remote_tool

    url = f"http://bob:{SECRET}@127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError, match=r"remote tool 'blur' at http://\*\*\*@127\.0\.0\.1:\d+: ") as caught:
        connect_remote_tool("blur", url, RemoteLimits(connect_timeout_s=1))
    assert SECRET not in str(caught.value)
