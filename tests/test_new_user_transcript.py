"""The issue-24 new user on the embedded default without a GPU: a photo and plain requests, through the CLI."""

from __future__ import annotations

import json

from tests.fakes import gradient
from tests.test_persistence_and_cli import cli

SCRIPT = """remove the background
make her hair blonde
blur the background
crop it to a square
make it warmer
make it look better
improve it
hmm, not sure, let me think
thanks!
undo both
"""


def test_a_new_user_without_a_gpu_gets_honest_answers_and_cpu_edits(tmp_path):
    gradient((64, 48)).save(tmp_path / "photo.png")
    (tmp_path / "script.txt").write_text(SCRIPT)
    result = cli("run", "script.txt", "--image", "photo.png", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["action"] for t in turns] == [
        "chat", "chat", "chat", "edit", "edit", "clarify", "clarify", "chat", "chat", "undo",
    ]  # fmt: skip
    for honest in turns[:3]:  # one line: what is missing, what would enable it, what can be done now
        text = honest["reply"]
        assert "instruct_pix2pix" in text and "--model-path" in text and "What I can do now" in text
        assert "Shall I" not in text and "\n" not in text
    assert turns[3]["tool"] == "crop" and "empty answer" not in turns[3]["reply"]
    assert all("watercolor" not in t["reply"] for t in turns[5:7])  # options only from ready tools
    assert all(t["instruction"] is None for t in turns[7:9])  # neither hesitation nor thanks is an edit
    assert turns[9]["undo_steps"] == 2 and turns[9]["head"] == turns[2]["head"]
    assert all("failed" not in t["reply"] for t in turns)


def test_a_disabled_tool_is_never_offered(tmp_path):
    """Questions and the not-ready line offer only edits a bound tool can run: with grayscale hidden,
    'make it black and white' is no option."""
    gradient((64, 48)).save(tmp_path / "photo.png")
    (tmp_path / "script.txt").write_text("remove the background\nmake it look better\n")
    result = cli("--disable-tool", "grayscale", "run", "script.txt", "--image", "photo.png", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["action"] for t in turns] == ["chat", "clarify"]
    assert all("black and white" not in t["reply"] for t in turns)
    assert all("brighter" in t["reply"] for t in turns)  # what can run is still offered
