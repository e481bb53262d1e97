"""The long-session eval set and the drift columns of `dialogpaint eval --drift`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agent.cli.app import app
from agent.eval.dataset import load_eval_file
from agent.eval.drift import drift_summary

ROOT = Path(__file__).resolve().parents[1]
LONG = ROOT / "eval_sets" / "long.jsonl"


def test_the_long_set_has_ten_edits_with_undo_forget_and_rerender_in_every_dialogue():
    dialogues = load_eval_file(LONG)
    assert len(dialogues) >= 4
    for dialogue in dialogues:
        expects = [t.expect for t in dialogue.turns]
        assert expects.count("edit") >= 10, dialogue.id
        assert {"forget", "rerender"} <= set(expects) and "undo" in expects, dialogue.id


def test_eval_drift_rebuilds_every_head_and_cpu_chains_do_not_drift(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["eval", str(LONG), "--out", str(out), "--drift"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "drift:" in result.output and "replay bit-exact 1.000" in result.output
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert all(r["correct"] for r in rows if r["dialogue"] != "flowers-long-generative")
    scored = [r for r in rows if r["replay_matches"] is not None]
    assert len(scored) > 30 and all(r["replay_matches"] and r["l1_drift"] == 0.0 for r in scored)
    assert max(r["edits_on_path"] for r in scored) >= 8
    forgets = [r for r in rows if r["action"] == "forget"]
    assert forgets and all(r["image_changed"] and r["error"] is None for r in forgets)
    drift = json.loads((out / "metrics.json").read_text())["drift"]
    assert drift == drift_summary(rows) and drift["replay_match_rate"] == 1.0
    eight = drift["by_edits_on_path"]["8"]
    assert eight["l1_source_chained"] == eight["l1_source_rebuilt"] > 0.05  # the chain did change the image


def test_drift_summary_groups_by_chain_length():
    rows = [
        {"replay_matches": True, "edits_on_path": 2, "l1_source": 0.2, "l1_source_rebuilt": 0.1, "l1_drift": 0.3},
        {"replay_matches": False, "edits_on_path": 2, "l1_source": 0.4, "l1_source_rebuilt": 0.3, "l1_drift": 0.1},
        {"replay_matches": None, "edits_on_path": 0},
    ]
    summary = drift_summary(rows)
    assert summary["turns_scored"] == 2 and summary["replay_match_rate"] == 0.5
    assert summary["by_edits_on_path"] == {
        "2": {"turns": 2, "l1_source_chained": 0.3, "l1_source_rebuilt": 0.2, "l1_drift": 0.2}
    }
