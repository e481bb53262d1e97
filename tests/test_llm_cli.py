"""The command line against the loopback server: `run --llm URL` completes a dialogue; `doctor` checks it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tests.fakes import gradient
from tests.openai_server import AUTO_TOOL_CHOICE_400, OpenAIServer, calls, error, text

pytest.importorskip("langchain_openai")

ROOT = Path(__file__).resolve().parents[1]


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "DIALOGPAINT_DATA_DIR": str(tmp_path / "data"), **env}
    command = [sys.executable, "-m", "agent.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=environ, check=False, timeout=120)


def test_run_completes_clarify_edit_undo_dialogue_over_http(tmp_path):
    script = [
        calls(("ask_clarification", {"question": "Which look?", "options": ["black and white", "sepia"]})),
        calls(("grayscale", {"instruction": "make the photo black and white"})),
        calls(("confirm_pending", {"approve": True})),
        calls(("undo", {"steps": 1})),
    ]
    (tmp_path / "turns.txt").write_text("make it better\nblack and white\nyes\nundo\n")
    gradient().save(tmp_path / "in.png")
    with OpenAIServer(script) as server:
        result = cli(
            tmp_path, "--llm", server.url, "--llm-model", "test-model",
            "run", str(tmp_path / "turns.txt"), "--image", str(tmp_path / "in.png"), "--json",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        turns = [json.loads(line) for line in result.stdout.splitlines()]
        assert [t["action"] for t in turns] == ["clarify", "confirm", "edit", "undo"]
        assert turns[2]["tool"] == "grayscale" and turns[2]["revisions"] == 2
        assert turns[3]["head"] == turns[0]["head"] and turns[3]["undo_steps"] == 1
        assert len(server.chat_requests) == 4 and server.unscripted == 0
        assert all(r["model"] == "test-model" for r in server.chat_requests)


def doctor(tmp_path: Path, *args: str, **env: str) -> tuple[int, list[str]]:
    """`dialogpaint [args] doctor` in-process (the subprocess path is covered by the `run` test)."""
    environ = {"DIALOGPAINT_DATA_DIR": str(tmp_path / "data"), **env}
    result = CliRunner().invoke(app, [*args, "doctor"], env=environ)
    return result.exit_code, result.output.splitlines()


def test_doctor_passes_on_a_working_server(tmp_path):
    with OpenAIServer([calls(("undo", {"steps": 2}))]) as server:
        code, lines = doctor(tmp_path, "--llm", server.url, "--llm-model", "test-model")
        assert code == 0, lines
        assert [line.split(":")[0] for line in lines] == [
            "PASS reachable",
            "PASS model listed",
            "PASS tool call (auto mode)",
            "PASS context",
        ]
        assert "undo(steps=2)" in lines[2] and server.chat_requests[0]["tool_choice"] == "auto"
        assert "fit the server's 32768" in lines[3]


def test_doctor_fails_when_a_turn_cannot_fit_the_served_context(tmp_path):
    # vLLM lists max_model_len; prompt + tools (~4.5k) + 6000 of conversation + 512 do not fit 8192,
    # which would otherwise surface as context-length errors once the conversation grows.
    with OpenAIServer([calls(("undo", {"steps": 2}))] * 2, max_model_len=8192) as server:
        code, lines = doctor(tmp_path, "--llm", server.url, "--llm-model", "test-model")
        assert code == 1 and lines[-1].startswith("FAIL context:") and "--max-model-len 8192" in lines[-1]
        room = int(lines[-1].split("DIALOGPAINT_CONTEXT_TOKENS to ")[1].split()[0])
        assert 2500 < room < 4000
        code, lines = doctor(
            tmp_path, "--llm", server.url, "--llm-model", "test-model", DIALOGPAINT_CONTEXT_TOKENS=str(room)
        )
        assert code == 0 and lines[-1].startswith("PASS context:") and "8192" in lines[-1]


def test_doctor_required_mode_sends_required_tool_choice(tmp_path):
    with OpenAIServer([calls(("undo", {"steps": 2}))]) as server:
        env = {"DIALOGPAINT_LLM_TOOL_MODE": "required"}
        code, lines = doctor(tmp_path, "--llm", server.url, "--llm-model", "test-model", **env)
        assert code == 0, lines
        assert server.chat_requests[0]["tool_choice"] == "required"


BROKEN = {
    # name: (script, model name, the FAIL line's words, checks printed)
    "wrong model name": ([], "other-model", "'other-model' is not served", 2),
    "no tool parser": ([error(400, AUTO_TOOL_CHOICE_400)], "test-model", "DIALOGPAINT_LLM_TOOL_MODE=required", 3),
    "answers in text": ([text("Sure, undone!")], "test-model", "answered in text", 3),
    "wrong tool": ([calls(("redo", {"steps": 1}))], "test-model", "called 'redo'", 3),
    "server error": ([error(500, "boom")] * 2, "test-model", "HTTP 500", 3),
}


@pytest.mark.parametrize("name", BROKEN)
def test_doctor_fails_clearly_on_a_broken_configuration(tmp_path, name):
    script, model, words, lines = BROKEN[name]
    with OpenAIServer(list(script)) as server:
        code, out = doctor(tmp_path, "--llm", server.url, "--llm-model", model)
        assert code == 1 and len(out) == lines
        assert out[-1].startswith("FAIL") and words in out[-1] and all(line.startswith("PASS") for line in out[:-1])
        assert len(server.chat_requests) == (lines == 3)  # no retries in the doctor either


def test_doctor_fails_when_the_server_is_down(tmp_path):
    code, out = doctor(tmp_path, "--llm", "http://127.0.0.1:9/v1")
    assert code == 1 and len(out) == 1
    assert out[0].startswith("FAIL reachable: cannot reach http://127.0.0.1:9/v1/models")


def test_doctor_with_the_local_policy_needs_no_server(tmp_path):
    code, out = doctor(tmp_path)
    assert code == 0 and out == ["PASS dialogue model: the embedded local policy; no server to check"]


def test_eval_compares_the_local_policy_with_a_served_model(tmp_path):
    dialogues = [
        {"id": "bw", "turns": [{"user": "make it black and white", "expect": "edit"}]},
        {"id": "vague", "turns": [{"user": "make it better", "expect": "clarify"}]},
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in dialogues))
    script = [calls(("grayscale", {"instruction": "make it black and white"})), text("Sure, it looks better now!")]
    with OpenAIServer(script) as server:
        result = CliRunner().invoke(
            app,
            ["--data-dir", str(tmp_path / "data"), "eval", str(path), "--out", str(tmp_path / "out"),
             "--compare", f"llm={server.url}", "--compare", "llm_model=test-model"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert len(server.chat_requests) == 2 and server.unscripted == 0  # B asked the server once per turn
    metrics = {side: json.loads((tmp_path / "out" / side / "metrics.json").read_text()) for side in "ab"}
    assert (metrics["a"]["accuracy"], metrics["b"]["accuracy"]) == (1.0, 0.5)
    assert metrics["b"]["config"]["llm_model"] == "test-model"
    changed = [json.loads(line) for line in (tmp_path / "out" / "differences.jsonl").read_text().splitlines()]
    assert [(d["dialogue"], d["a"]["action"], d["b"]["action"]) for d in changed] == [("vague", "clarify", "chat")]
