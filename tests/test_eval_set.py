"""The local policy over the project's own eval set, through the real graph, CPU tools and store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.eval.dataset import EvalDialogue, EvalFileError, load_eval_file, run_all, run_dialogue
from agent.eval.metrics import metrics
from agent.models.prompts import SYSTEM_PROMPT
from agent.policy.local import LocalPolicy
from agent.session.engine import Engine
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, RecordingTool, ScriptedChatModel, ai, call, gradient
from tools.registry import load_registry

EVAL_DIR = Path(__file__).resolve().parents[1] / "eval_sets"


def test_local_policy_on_eval_set(capsys):
    dialogues = [d for path in sorted(EVAL_DIR.glob("*.jsonl")) for d in load_eval_file(path)]
    assert len(dialogues) >= 60
    # As `dialogpaint eval` scores them: the generative turns are decisions too (offer_unready), though
    # InstructPix2Pix has no weights here.
    tools = load_registry(plugins=False)
    deps = GraphDeps(LocalPolicy(), tools, MemoryImageStore(), SYSTEM_PROMPT, seed=0, offer_unready=True)
    engine = Engine(build_graph(InMemorySaver()), deps)
    results = run_all(dialogues, lambda d: engine.open(gradient()))
    report = metrics([r.record() for r in results])
    with capsys.disabled():
        print(f"\nlocal policy on {report['turns']} turns: accuracy {report['accuracy']:.3f}")
        for action, row in report["per_action"].items():  # type: ignore[union-attr]
            print(f"  {action:12} precision {row['precision']:.2f} recall {row['recall']:.2f} (n={row['support']})")
        print(f"  instruction keyword hit rate {report['instruction_keyword_hit_rate']:.2f}")
        print(f"  undo steps exact {report['undo_steps_exact']:.2f}")
        for r in results:
            if not r.correct:
                print(f"  MISS {r.dialogue}: {r.turn.user!r} expected {r.expect}, got {r.predicted}")
    assert report["accuracy"] > 0.9
    assert report["undo_steps_exact"] == 1.0


def test_bad_eval_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = {"id": "a", "turns": [{"user": "undo", "expect": "undo"}], "source": "ignored"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({"id": "b", "turns": [{"user": "x", "expect": "dance"}]}))
    with pytest.raises(EvalFileError, match=r"bad.jsonl:2: turns.0.expect"):
        load_eval_file(path)
    path.write_text("{not json")
    with pytest.raises(EvalFileError, match=r"bad.jsonl:1: "):
        load_eval_file(path)


GOOD_LINE = b'{"id": "a", "turns": [{"user": "hi", "expect": "chat"}]}\n'
NAMED_IMAGE = b'{"id": "a", "image": "notes.png", "turns": [{"user": "hi", "expect": "chat"}]}\n'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GOOD_LINE + b'\xff\xfe{"id"\n', r"bad.jsonl:2: not UTF-8 text \(invalid start byte at byte 0\)"),
        (b'["a", "b"]\n', r"bad.jsonl:1: a line must be one JSON object \(a dialogue\), got '\[\"a\", \"b\"\]'"),
        (b'"hello"\n', r"bad.jsonl:1: a line must be one JSON object"),
        (NAMED_IMAGE, r"bad.jsonl:1: image 'notes.png' is unusable: not a PNG, JPEG or WebP image"),
    ],
)
def test_undecodable_lines_and_unusable_images_are_named_before_anything_runs(tmp_path, content, message):
    (tmp_path / "notes.png").write_text("not an image")
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(EvalFileError, match=message):
        load_eval_file(path)


def test_a_line_separator_inside_a_message_does_not_split_the_line(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text(
        json.dumps({"id": "a", "turns": [{"user": "undo\u2028that", "expect": "undo"}]}, ensure_ascii=False)
    )
    assert load_eval_file(path)[0].turns[0].user == "undo\u2028that"


def test_missing_diffusion_editor_is_explained_and_session_stays_usable():
    deps = GraphDeps(LocalPolicy(), load_registry(plugins=False), MemoryImageStore(), SYSTEM_PROMPT, confirm="never")
    session = Engine(build_graph(InMemorySaver()), deps).open(gradient())
    reply = session.send("turn the dog into a cheetah")  # never offered: one line saying what would enable it
    assert reply.action == "chat" and reply.tool is None and not reply.error
    assert "dialogpaint[gpu]" in reply.text and "--model-path" in reply.text
    assert len(reply.revisions) == 1
    follow = session.send("make it black and white")
    assert follow.tool == "grayscale" and len(follow.revisions) == 2


def scripted_answer_to_a_proposal(*answer: dict, user: str, expect: str) -> str:
    """The label given to the user's answer to a proposed mirror, when the model answers with ``answer``."""
    script = [ai(call("mirror", instruction="mirror it")), ai(*answer), ai(text="ok")]
    model, tools = ScriptedChatModel(script=script), {"mirror": RecordingTool()}
    deps = GraphDeps(model, tools, MemoryImageStore(), SYSTEM_PROMPT, confirm="always")
    session = Engine(build_graph(InMemorySaver()), deps).open(gradient())
    turns = [{"user": "mirror it", "expect": "edit"}, {"user": user, "expect": expect}]
    results = run_dialogue(session, EvalDialogue.model_validate({"id": "d", "turns": turns}))
    assert results[0].reply.action == "confirm"
    return results[1].predicted


def test_a_no_that_applies_the_refused_edit_is_a_miss():
    approve, decline = call("confirm_pending", approve=True), call("confirm_pending", approve=False)
    instead = call("mirror", instruction="mirror it upside down")
    assert scripted_answer_to_a_proposal(approve, user="no", expect="confirm_no") == "edit"
    assert scripted_answer_to_a_proposal(decline, user="no", expect="confirm_no") == "confirm_no"
    assert scripted_answer_to_a_proposal(decline, instead, user="no, upside down", expect="confirm_no") == "confirm_no"
    assert scripted_answer_to_a_proposal(approve, user="yes", expect="confirm_yes") == "confirm_yes"
    assert scripted_answer_to_a_proposal(decline, instead, user="yes", expect="confirm_yes") == "edit"
