"""Every command takes the global options after its name too, and given in both places the later one wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from agent.cli import app
from tests.fakes import gradient
from tests.openai_server import free_port


def cli(*args: str | Path) -> Result:
    """The CLI in this process, on a clean environment for the settings it reads."""
    env = {"DIALOGPAINT_DATA_DIR": None, "DIALOGPAINT_CONFIRM": None, "DIALOGPAINT_LLM": None}
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


@pytest.fixture
def script(tmp_path: Path) -> tuple[Path, Path]:
    """A one-turn script asking for an edit the auto policy would run without asking, and an image."""
    (tmp_path / "s.txt").write_text("make it black and white\n")
    gradient().save(tmp_path / "x.png")
    return tmp_path / "s.txt", tmp_path / "x.png"


def actions(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [json.loads(line)["action"] for line in result.stdout.splitlines()]


def test_run_with_data_dir_and_confirm_after_the_command(tmp_path, script):
    text, image = script
    result = cli("run", text, "--image", image, "--json", "--data-dir", tmp_path / "d", "--confirm", "always")
    assert actions(result) == ["confirm"]  # --confirm always took effect: the edit waits for a yes
    assert (tmp_path / "d" / "sessions.sqlite").is_file() and len(list((tmp_path / "d" / "images").iterdir())) == 1


def test_given_before_and_after_the_command_the_later_one_wins(tmp_path, script):
    text, image = script
    before = ("--data-dir", tmp_path / "before", "--confirm", "always")
    result = cli(
        *before, "run", text, "--image", image, "--json", "--data-dir", tmp_path / "after", "--confirm", "never"
    )
    assert actions(result) == ["edit"]
    assert (tmp_path / "after" / "sessions.sqlite").is_file() and not (tmp_path / "before").exists()
    only_before = cli(*before, "run", text, "--image", image, "--json")
    assert actions(only_before) == ["confirm"] and (tmp_path / "before" / "sessions.sqlite").is_file()


def test_tools_hides_a_tool_disabled_after_the_command():
    shown = cli("tools").stdout
    assert "blur" in shown and "sharpen" in shown
    hidden = cli("tools", "--disable-tool", "blur").stdout
    assert "blur" not in hidden and "sharpen" in hidden
    later = cli("--disable-tool", "sharpen", "tools", "--disable-tool", "blur").stdout
    assert "blur" not in later and "sharpen" in later  # the list after the command replaces the one before


def test_demo_uses_the_data_dir_given_after_the_command(tmp_path):
    result = cli("demo", "--out", tmp_path / "demo", "--data-dir", tmp_path / "d")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d" / "sessions.sqlite").is_file() and not (tmp_path / "demo" / "data").exists()


def test_eval_records_the_confirm_policy_given_after_the_command(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"id": "d", "turns": [{"user": "make it black and white", "expect": "edit"}]}) + "\n")
    result = cli("--confirm", "never", "eval", path, "--out", tmp_path / "out", "--confirm", "always")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "out" / "metrics.json").read_text())["config"]
    assert config["confirm"] == "always"
    row = json.loads((tmp_path / "out" / "results.jsonl").read_text().splitlines()[0])
    assert row["action"] == "confirm"


def test_doctor_checks_the_server_given_after_the_command():
    assert "embedded local policy" in cli("doctor").stdout
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = cli("--llm", "local", "doctor", "--llm", url)
    assert result.exit_code == 1 and f"cannot reach {url}/models" in result.stdout


@pytest.mark.parametrize("where", ["before", "after"])
def test_serve_refuses_a_bad_llm_in_one_line_wherever_it_is_given(where):
    args = ["--llm", "x", "serve", "--port", "1"] if where == "before" else ["serve", "--port", "1", "--llm", "x"]
    result = cli(*args)
    assert result.exit_code == 2 and result.stderr.startswith("error: invalid setting llm")
    assert "'local' or an http(s) URL, got 'x'" in result.stderr and len(result.stderr.splitlines()) == 1


def test_serve_tool_honours_disable_tool_after_the_command(tmp_path):
    result = cli("serve-tool", "grayscale", "--port", "1", "--data-dir", tmp_path, "--disable-tool", "grayscale")
    assert result.exit_code == 2 and "no tool named 'grayscale' to serve" in result.stderr
