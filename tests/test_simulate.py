"""`dialogpaint simulate`: the case format, the rule-based user, the baselines and the whole run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from typer.testing import CliRunner

from agent.cli.app import app
from agent.eval.simulate.baselines import GENERIC_QUESTION, ask_once, never_ask
from agent.eval.simulate.cases import RULES, CaseFileError, SimCase, edit_matches, load_cases
from agent.eval.simulate.user import Edit, Observation, RuleUser, question_kinds
from tools.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "eval_sets" / "simulate" / "goals.jsonl"
ROTATE = {"tool": "rotate", "instruction": "rotate it 90 degrees clockwise", "params": {"degrees": -90}}
SKY = {"tool": "instruct_pix2pix", "instruction": "make the sky purple", "object": "sky", "change": ["purple"]}


def make(rule: str = "drop_value", goal: dict | None = None, **extra) -> SimCase:
    missing = None if rule == "explicit" else {"kind": "value", "answer": "90 degrees clockwise"}
    row = {"id": "c", "rule": rule, "opening": "rotate it", "goal": [goal or ROTATE], "missing": missing, **extra}
    return SimCase.model_validate(row)


def test_the_shipped_set_covers_every_tool_and_rule_with_provenance():
    cases = load_cases(SHIPPED)
    assert len(cases) >= 300
    assert {g.tool for c in cases for g in c.goal} == set(load_registry(plugins=False))
    assert {c.rule for c in cases} == set(RULES)
    assert all(c.source.get("repo") and c.source.get("path") for c in cases)
    assert sum(c.source["repo"] == "TianyuCodings/EdiVal" for c in cases) >= 100


def test_the_shipped_set_has_goals_of_two_and_three_edits_with_every_rule():
    cases = load_cases(SHIPPED)
    single = [c for c in cases if len(c.goal) == 1]
    multi = [c for c in cases if len(c.goal) > 1]
    assert len(single) == 320 and {len(c.goal) for c in multi} == {2, 3}
    assert {c.rule for c in multi} == set(RULES)
    assert {c.source["repo"] for c in multi} == {"dialogpaint", "TianyuCodings/EdiVal"}
    assert {c.asked_edit for c in multi if c.missing} == {0, 1, 2}  # the rule applied to every position
    explicit = next(c for c in multi if c.rule == "explicit" and len(c.goal) == 3)
    assert all(edit.instruction in explicit.opening for edit in explicit.goal)
    turns = next(c for c in multi if c.rule == "explicit_turns")
    assert turns.opening == turns.goal[0].instruction


def test_cpu_goals_match_exactly_and_generative_goals_by_object_and_change():
    goal = make().goal[0]
    assert edit_matches(goal, "rotate", {"degrees": -90.0, "expand": True}, "rotate it")
    assert not edit_matches(goal, "rotate", {"degrees": 90.0}, "rotate it 90 degrees clockwise")
    assert not edit_matches(goal, "flip", {"degrees": -90}, None)
    sky = make(goal=SKY).goal[0]
    assert edit_matches(sky, "instruct_pix2pix", {}, "turn the sky a deep purple")
    assert not edit_matches(sky, "instruct_pix2pix", {}, "make it purple")
    up = {"tool": "adjust_tone", "instruction": "make it brighter", "params": {"brightness": {"gt": 1}}}
    brighter = SimCase.model_validate({**make().model_dump(), "goal": [up]}).goal[0]
    assert edit_matches(brighter, "adjust_tone", {"brightness": 1.3}, None)
    assert not edit_matches(brighter, "adjust_tone", {"brightness": 0.8}, None)


def test_bad_case_lines_are_named(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps({"id": "a", "rule": "explicit", "opening": "x", "goal": [ROTATE],
                                "missing": {"kind": "value", "answer": "y"}}) + "\n")  # fmt: skip
    with pytest.raises(CaseFileError, match=r"cases.jsonl:1: .*explicit opening misses nothing"):
        load_cases(path)
    path.write_text(json.dumps({"id": "a", "rule": "explicit", "opening": "x", "goal": [{**SKY, "object": None}]}))
    with pytest.raises(CaseFileError, match="needs an object"):
        load_cases(path)


def seen(action: str, text: str = "", path: tuple[Edit, ...] = (), proposal: tuple[Edit, ...] = ()) -> Observation:
    return Observation(1, action, text, path, proposal)


def test_the_rule_user_answers_only_questions_about_the_missing_piece():
    user, case = RuleUser(), make()
    assert user.respond(case, seen("clarify", "Which way should I rotate it?")) == "90 degrees clockwise"
    assert user.respond(case, seen("clarify", "What would you like me to change?")) == ROTATE["instruction"]
    assert user.respond(case, seen("clarify", "Which object do you mean?")) == "rotate it"  # not what it misses
    explicit = make("explicit")
    assert user.respond(explicit, seen("clarify", "Which way?")) == ROTATE["instruction"]
    assert question_kinds("What should I add, and where?") == {"object"}


def test_the_rule_user_confirms_right_proposals_corrects_wrong_ones_and_undoes_wrong_edits():
    user, case = RuleUser(), make()
    right = Edit("rotate", {"degrees": -90}, "rotate it 90 degrees clockwise")
    wrong = Edit("rotate", {"degrees": 90}, "rotate it 90 degrees counter-clockwise")
    assert user.respond(case, seen("confirm", proposal=(right,))) == "yes"
    assert user.respond(case, seen("confirm", proposal=(wrong,))) == "no, rotate it 90 degrees clockwise"
    assert user.respond(case, seen("edit", path=(wrong,))) == "undo that"
    assert user.respond(case, seen("chat")) == "rotate it 90 degrees clockwise"


BRIGHTER = {"tool": "adjust_tone", "instruction": "make it brighter", "params": {"brightness": {"gt": 1}}}


def test_the_rule_user_on_a_goal_of_several_edits():
    user = RuleUser()
    row = {"id": "m", "rule": "drop_value", "opening": "make it brighter and rotate it", "goal": [BRIGHTER, ROTATE],
           "missing": {"kind": "value", "answer": "90 degrees clockwise", "edit": 1}}  # fmt: skip
    case = SimCase.model_validate(row)
    bright = Edit("adjust_tone", {"brightness": 1.3}, "make it brighter")
    cw = Edit("rotate", {"degrees": -90}, "rotate it 90 degrees clockwise")
    ccw = Edit("rotate", {"degrees": 90}, "rotate it 90 degrees counter-clockwise")
    # asked before the vague edit is made: the missing piece; a generic question: that edit in full
    assert user.respond(case, seen("clarify", "Which way should I rotate it?")) == "90 degrees clockwise"
    assert user.respond(case, seen("clarify", "Which way?", path=(bright,))) == "90 degrees clockwise"
    assert user.respond(case, seen("clarify", "What would you like me to change?")) == ROTATE["instruction"]
    assert user.respond(case, seen("clarify", "Which object?")) == case.opening  # not what it misses
    # a proposal is right only when every proposed edit is the next goal edit, in order
    assert user.respond(case, seen("confirm", proposal=(bright, cw))) == "yes"
    assert user.respond(case, seen("confirm", proposal=(bright, ccw))) == "no, make it brighter"
    assert user.respond(case, seen("confirm", proposal=(bright, cw, cw))) == "no, make it brighter"
    assert user.respond(case, seen("edit", path=(bright,))) == ROTATE["instruction"]  # the next edit
    assert user.respond(case, seen("edit", path=(bright, ccw))) == "undo that"
    turns = SimCase.model_validate({**row, "rule": "explicit_turns", "opening": "make it brighter", "missing": None})
    assert user.respond(turns, seen("clarify", "What would you like me to change?")) == "make it brighter"
    assert user.respond(turns, seen("clarify", "Which?", path=(bright,))) == ROTATE["instruction"]
    with pytest.raises(ValueError, match="past the goal"):
        SimCase.model_validate({**row, "missing": {**row["missing"], "edit": 2}})
    with pytest.raises(ValueError, match="has one"):
        SimCase.model_validate({**turns.model_dump(), "goal": [BRIGHTER]})


def test_baselines_replace_the_asking_only():
    question = AIMessage("", tool_calls=[{"name": "ask_clarification", "args": {"question": "Which?"}, "id": "1"}])
    edit = AIMessage("", tool_calls=[{"name": "grayscale", "args": {"instruction": "bw"}, "id": "2"}])
    history = [HumanMessage("make it better")]
    acted = never_ask(question, history, {"instruct_pix2pix", "grayscale"})
    assert [(c["name"], c["args"]) for c in acted.tool_calls] == [
        ("instruct_pix2pix", {"instruction": "make it better"})
    ]
    assert never_ask(edit, history, {"instruct_pix2pix"}) is edit
    asked = ask_once(edit, history)
    assert (
        asked.tool_calls[0]["name"] == "ask_clarification"
        and asked.tool_calls[0]["args"]["question"] == GENERIC_QUESTION
    )
    assert ask_once(edit, [*history, AIMessage("q"), HumanMessage("make it black and white")]) is edit


def test_simulate_is_deterministic_and_writes_every_report(tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(line + "\n" for line in SHIPPED.read_text().splitlines()[::16]))
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = CliRunner().invoke(app, ["simulate", str(cases), "--out", str(out)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs.append(
            {f: (out / f).read_bytes() for f in ("results.jsonl", "metrics.json", "report.html", "report.md")}
        )
    assert outputs[0] == outputs[1]
    metrics = json.loads(outputs[0]["metrics.json"])
    assert set(metrics["agents"]) == {"policy", "rules", "never_ask", "ask_once"}
    assert metrics["agents"]["ask_once"]["overall"]["ask_rate_explicit"] == 1.0
    assert metrics["agents"]["never_ask"]["overall"]["questions_per_case"] == 0.0
    assert "<svg" in __import__("base64").b64decode(
        outputs[0]["report.html"].split(b"data:image/svg+xml;base64,")[1].split(b"'")[0]).decode()  # fmt: skip
    assert b"recording stand-in" in outputs[0]["report.html"]


def test_an_unknown_agent_is_one_error_line(tmp_path):
    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--agent", "oracle"])
    assert result.exit_code == 2 and "unknown agent 'oracle'" in result.output


def test_the_shipped_cpu_cases_are_what_the_generator_writes():
    from agent.eval.simulate.generate import CATALOGUE, EVALUATIVE, OURS, VAGUE_OPERATION, cpu_cases, source_phrasings
    from agent.eval.simulate.generate import ROOT as REPO
    from agent.eval.simulate.generate_multi import cpu_multi_cases

    shipped = [json.loads(line) for line in SHIPPED.read_text().splitlines()]
    catalogue = {row[0]: row[1:] for row in CATALOGUE}
    generated = [
        *cpu_cases(source_phrasings(REPO)),
        *cpu_multi_cases(catalogue, EVALUATIVE, VAGUE_OPERATION, OURS),
    ]
    assert generated == [row for row in shipped if row["source"]["repo"] != "TianyuCodings/EdiVal"]
    assert all(row["source"].get("split", "val") == "val" for row in generated)  # no corpus training rows


def test_clip_scores_every_generative_success(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    from tests.tiny_training import save_tiny_clip

    clip = save_tiny_clip(tmp_path / "clip")
    lines = SHIPPED.read_text().splitlines()
    cases = tmp_path / "cases.jsonl"
    cases.write_text(next(x for x in lines if "EdiVal" in x) + "\n" + lines[0] + "\n")
    args = ["simulate", str(cases), "--out", str(tmp_path / "out"), "--agent", "policy", "--clip-path", str(clip)]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    generative = next(r for r in rows if r["generative"])
    cpu = next(r for r in rows if not r["generative"])
    assert generative["success"] and -1 <= generative["clip_directional_similarity"] <= 1
    assert cpu["clip_directional_similarity"] is None
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["agents"]["policy"]["overall"]["clip_directional_mean"] == generative["clip_directional_similarity"]
    assert metrics["clip"] == f"computed with the CLIP weights at {clip}"
