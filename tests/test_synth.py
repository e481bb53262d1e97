"""`dialogpaint synth` and synthesize_edit_captions against the loopback OpenAI server with scripted answers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.eval.dataset import load_eval_file
from agent.settings import Settings
from agent.train.synth.captions import Caption
from agent.train.synth.dialogues import read_seed_dialogues, synthesize_dialogues
from agent.train.synth.edits import synthesize_edit_captions
from agent.train.synth.engine import SynthError
from agent.train.synth.similarity import RougePool
from tests.openai_server import OpenAIServer, error, text
from tools.errors import DialogPaintError

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "seed_dialogues.jsonl"
SEED_EDITS = ROOT / "data" / "seed_edits.jsonl"


def dialogue(*turns: tuple[str, str]) -> str:
    """A model answer holding one dialogue, the way a chat model wraps it."""
    body = {"turns": [{"user": user, "expect": expect} for user, expect in turns]}
    return f"Here is a new dialogue:\n```json\n{json.dumps(body)}\n```"


GOOD_A = dialogue(("make the bus look wet from rain", "edit"), ("perfect", "confirm_yes"))
GOOD_B = dialogue(("change it", "clarify"), ("paint the kitchen walls yellow", "edit"))
GOOD_C = dialogue(("hi there", "chat"), ("crop the photo to the skier", "edit"), ("undo", "undo"))


@pytest.fixture
def captions(tmp_path: Path) -> Path:
    path = tmp_path / "captions.txt"
    path.write_text("A red bus parked next to a kitchen window.\nA skier on a snowy slope.\n")
    return path


def settings(server: OpenAIServer, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", llm=server.url, llm_model="test-model", llm_max_retries=0)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_good_answers_are_kept_and_bad_ones_counted_and_skipped(tmp_path, captions):
    seed_users = " ".join(t["user"] for t in read_seed_dialogues(SEEDS)[0]["turns"])
    script = [
        text(GOOD_A),
        text("Sure! A user asks to brighten the photo and the assistant does it."),  # no JSON at all
        text('{"turns": [{"user": "make it pop", "expect": "clarify"'),  # cut-off JSON
        text(dialogue(("zoom into the bus", "zoom"))),  # not an eval-set label
        text(dialogue(("yes", "confirm_yes"), ("make it brighter", "edit"))),  # a yes with nothing to answer
        text(dialogue(("make the bus look wet from the rain", "edit"), ("perfect!", "confirm_yes"))),  # ~ GOOD_A
        text(dialogue((seed_users, "edit"))),  # a seed dialogue again
        text(GOOD_B),
    ]
    out = tmp_path / "synth.jsonl"
    with OpenAIServer(script) as server:
        report = synthesize_dialogues(captions, out, 2, seeds=SEEDS, settings=settings(server, tmp_path), k=2)
        bodies = server.chat_requests
    assert (report.kept, report.requests, report.resumed) == (2, 8, 0)
    assert report.skipped == {"malformed": 2, "invalid": 2, "duplicate": 2}
    assert report.first_problem["invalid"].startswith("turns.0.expect: Input should be 'edit'")
    kept = rows(out)
    assert [r["turns"][0]["user"] for r in kept] == ["make the bus look wet from rain", "change it"]
    assert [r["actions"] for r in kept] == [["edit", "confirm_yes"], ["clarify", "edit"]]
    assert [d.id for d in load_eval_file(out)] == [r["id"] for r in kept]  # runnable by `dialogpaint eval`
    seeds = {s["id"]: s for s in read_seed_dialogues(SEEDS)}
    for row, body in zip(kept, [bodies[0], bodies[7]], strict=True):
        assert row["model"] == "test-model" == body["model"]
        assert row["seed"] == body["seed"] and body["temperature"] == 1.0
        asked = body["messages"][1]["content"]
        assert row["prompt"].endswith(asked) and asked.endswith(f"Caption: {row['caption']}\n")
        assert row["caption"] in captions.read_text() and row["caption_source"]["file"] == "captions.txt"
        assert len(row["examples"]) == 2 and all(seeds[i]["turns"][0]["user"] in asked for i in row["examples"])


def test_a_run_stopped_by_the_server_resumes_with_the_requests_it_would_have_made(tmp_path, captions):
    with OpenAIServer([text(GOOD_A), text(GOOD_B), text(GOOD_C)]) as server:
        synthesize_dialogues(captions, tmp_path / "whole.jsonl", 3, seeds=SEEDS, settings=settings(server, tmp_path))
        uninterrupted = server.chat_requests
    out = tmp_path / "synth.jsonl"
    unloading = error(400, "model 'test-model' is being unloaded")
    with OpenAIServer([text(GOOD_A), text(GOOD_B), unloading]) as server, pytest.raises(SynthError) as stopped:
        synthesize_dialogues(captions, out, 3, seeds=SEEDS, settings=settings(server, tmp_path))
    assert "HTTP 400 (model 'test-model' is being unloaded)" in str(stopped.value)
    assert "rerun to resume" in str(stopped.value)
    assert len(rows(out)) == 2
    with out.open("a") as torn:  # a kill in the middle of writing a row
        torn.write('{"id": "synth-2", "caption": "A ski')
    with OpenAIServer([text(GOOD_C)]) as server:
        report = synthesize_dialogues(captions, out, 3, seeds=SEEDS, settings=settings(server, tmp_path))
        resumed = server.chat_requests
    assert (report.resumed, report.kept, report.requests) == (2, 1, 1)
    assert resumed[0]["messages"] == uninterrupted[2]["messages"] and resumed[0]["seed"] == uninterrupted[2]["seed"]
    assert rows(out) == rows(tmp_path / "whole.jsonl")
    with OpenAIServer([]) as server:  # complete: nothing more is asked
        again = synthesize_dialogues(captions, out, 3, seeds=SEEDS, settings=settings(server, tmp_path))
        assert (again.resumed, again.requests, server.chat_requests) == (3, 0, [])


def test_rouge_l_pool_rejects_near_copies_only():
    pool = RougePool(0.7, ["make the sky a deep blue"])
    assert pool.closest("make the sky a deep blue") == pytest.approx(1.0)
    assert pool.is_duplicate("please make the sky a deep blue")  # F1 = 2*6/7*1/(6/7+1) = 0.92
    assert not pool.is_duplicate("make the sky purple")  # F1 = 2 * 3/4 * 3/6 / (3/4 + 3/6) = 0.6
    assert not pool.is_duplicate("add a dog on the beach")
    pool.add("add a dog on the beach")
    assert pool.is_duplicate("add a dog on the beach") and len(pool) == 2


def test_edit_captions_rows_for_make_pairs(tmp_path):
    def triple(instruction: str, edited: str) -> str:
        return json.dumps({"instruction": instruction, "edited_caption": edited})

    bus = Caption("A red bus parked next to a kitchen window.", {"image_id": 42})
    script = [
        text(triple("make the bus blue", "A blue bus parked next to a kitchen window.")),
        text(triple("do nothing", "A red bus parked next to a kitchen window")),  # caption unchanged
        text(json.dumps({"instruction": "add snow"})),  # no edited caption
        text(triple("make the bus blue!", "A blue bus by a window.")),  # the same instruction again
        text(triple("put a cat on the roof of the bus", "A red bus with a cat on its roof.")),
    ]
    out = tmp_path / "edits.jsonl"
    with OpenAIServer(script) as server:
        report = synthesize_edit_captions([bus], out, 2, seeds=SEED_EDITS, settings=settings(server, tmp_path), seed=7)
        bodies = server.chat_requests
    assert report.skipped == {"invalid": 2, "duplicate": 1} and report.kept == 2
    assert report.first_problem["invalid"] == "the edited caption is the caption unchanged"
    first, second = rows(out)
    assert {first["caption"], second["caption"]} == {bus.text} and first["caption_source"] == {"image_id": 42}
    assert (first["instruction"], second["instruction"]) == ("make the bus blue", "put a cat on the roof of the bus")
    assert second["edited_caption"] == "A red bus with a cat on its roof."
    assert first["seed"] == bodies[0]["seed"] and first["run_seed"] == 7 and first["model"] == "test-model"
    assert (
        first["prompt"].endswith(f"Caption: {bus.text}\n") and "edited_caption" in bodies[0]["messages"][0]["content"]
    )


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIALOGPAINT_DATA_DIR": str(cwd / "data"), "DIALOGPAINT_LLM_MAX_RETRIES": "0"}
    command = [sys.executable, "-m", "agent.cli", "synth", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, check=False)


def test_cli_writes_rows_and_reports_what_it_skipped(tmp_path, captions):
    out = tmp_path / "synth.jsonl"
    with OpenAIServer([text(GOOD_A), text("no idea"), text(GOOD_B)]) as server:
        args = ["--captions", str(captions), "--seeds", str(SEEDS), "--out", str(out), "-n", "2", "--k", "4"]
        result = cli(*args, "--seed", "3", "--llm", server.url, "--llm-model", "test-model", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{out} holds 2 rows (2 new, 0 from before); 3 requests, skipped 1 malformed, 0 invalid" in result.stdout
    assert "first malformed: no JSON object in the answer 'no idea'" in result.stdout
    assert [len(r["examples"]) for r in rows(out)] == [4, 4] and {r["run_seed"] for r in rows(out)} == {3}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"n": 0}, "-n must be at least 1, got 0"),
        ({"k": 500}, "--k must be between 1 and the 126 seeds, got 500"),
        ({"captions": "missing.txt"}, "no captions file at missing.txt"),
        ({"out": "captions.txt"}, "captions.txt:1: not a row of this synth task (JSONDecodeError)"),
        ({"settings": Settings(llm="local")}, "synth needs a served model: pass --llm"),
    ],
)
def test_bad_input_is_refused_before_anything_is_asked_or_written(tmp_path, captions, given, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = captions.read_bytes()
    with OpenAIServer([]) as server:
        arguments = {"captions": captions, "out": "o.jsonl", "n": 5, "settings": settings(server, tmp_path), **given}
        with pytest.raises(DialogPaintError, match=re.escape(message)):
            synthesize_dialogues(seeds=SEEDS, **arguments)
        assert server.chat_requests == []
    assert captions.read_bytes() == before and not (tmp_path / "o.jsonl").exists()  # nothing written or lost


def test_cli_refuses_bad_input_in_one_line(tmp_path, captions):
    before = captions.read_bytes()
    result = cli("--captions", str(captions), "--seeds", str(SEEDS), "--out", "captions.txt", "-n", "5", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    expected = "error: captions.txt:1: not a row of this synth task (JSONDecodeError); pass a new --out file\n"
    assert result.stderr == expected
    assert captions.read_bytes() == before
