"""`dialogpaint simulate` over the wire: llama.cpp's SmolLM2 plays the agent (--llm) and the user (--user-llm).

The model is far too small to do either well; this proves the plumbing: the served agent and its
baselines run whole cases, the user model's own words are sent as the user's turns, and the run ends
in the same files as with the rule-based user.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli.app import app
from tests.test_llama_cpp_server import MODEL, llama_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.llama_cpp
SHIPPED = Path(__file__).resolve().parents[1] / "eval_sets" / "simulate" / "goals.jsonl"


def test_simulate_with_a_served_agent_and_a_model_as_the_user(llama_server, tmp_path):  # noqa: F811
    cases = tmp_path / "cases.jsonl"
    lines = SHIPPED.read_text().splitlines()
    chosen = [x for x in lines if '"id": "brighter-drop-value"' in x or '"id": "brighter-explicit"' in x]
    cases.write_text("".join(x + "\n" for x in chosen))
    out = tmp_path / "out"
    # Two tools keep the prompt inside the server's 4,096-token context; never_ask needs the generative one.
    env = {"DIALOGPAINT_LLM_TIMEOUT_S": "120", "DIALOGPAINT_TOOLS_ENABLED": '["adjust_tone", "instruct_pix2pix"]'}
    args = ["--llm", llama_server, "--llm-model", MODEL, "simulate", str(cases), "--out", str(out),
            "--user-llm", llama_server, "--user-llm-model", MODEL, "--max-turns", "2",
            "--agent", "policy", "--agent", "never_ask"]  # fmt: skip
    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    print(result.output)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["user"] == f"{MODEL} at {llama_server}" and set(metrics["agents"]) == {"policy", "never_ask"}
    assert metrics["policy"].startswith("served model at http://127.0.0.1:")
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    for row in rows:
        openings = [t["user"] for t in row["transcript"]]
        assert openings[0] in {json.loads(x)["opening"] for x in cases.read_text().splitlines()}
        assert row["success"] or len(openings) == 2  # an unfinished case used every turn
        assert all(isinstance(t, str) and t for t in openings)
        assert not any("context window" in t["reply"] for t in row["transcript"])  # the model did answer
    assert (out / "report.html").read_text().count("<svg") == 0  # the plots are inlined as data URIs
