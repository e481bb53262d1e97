"""The embedded policy's rule modules on their own: commands (acts and step counts), vague (what a
request lacks and how an answer completes it) and lexicon (CPU-tool parses and degrees)."""

from __future__ import annotations

import pytest

from agent.policy.commands import dialogue_act, undo_steps
from agent.policy.lexicon import match_cpu, mentions_edit
from agent.policy.vague import find_vagueness, fold_answer
from agent.policy.vocabulary import degree


@pytest.mark.parametrize(
    ("text", "act"),
    [
        ("undo that", "undo"),
        ("go back two steps", "undo"),
        ("redo", "redo"),
        ("thanks!", "thanks"),
        ("hi there", "greeting"),
        ("bye", "bye"),
        ("what can you do?", "help"),
        ("can you help me?", "help"),
        ("make it brighter", None),  # an edit request, not a dialogue act
    ],
)
def test_dialogue_acts(text, act):
    assert dialogue_act(text) == act


def test_undo_steps_read_numbers_and_all_and_default_to_one():
    assert undo_steps("undo the last three edits", edit_count=5) == 3
    assert undo_steps("undo everything", edit_count=4) == 4  # all: back to the original
    assert undo_steps("undo", edit_count=4) == 1
    assert undo_steps("undo everything", edit_count=0) == 1  # never zero steps


def test_a_vague_colour_request_asks_which_part_and_folds_the_answer():
    vague = find_vagueness("make it red")
    assert vague is not None and (vague.kind, vague.subject) == ("target", "red")
    assert vague.question.startswith("Which part should become red")
    assert fold_answer(vague, "make it red", "the car") == "make the car red"
    assert fold_answer(vague, "make it red", "the whole image") == "give the whole image a red tint"


def test_a_request_without_its_change_is_vague_and_an_explicit_one_is_not():
    vague = find_vagueness("change it")
    assert vague is not None and vague.kind == "change"
    assert find_vagueness("make the sky purple") is None


@pytest.mark.parametrize(
    ("text", "tool", "args"),
    [
        ("make it brighter", "adjust_tone", {"brightness": 1.3}),
        ("rotate 90 degrees clockwise", "rotate", {"degrees": -90.0}),
        ("flip it horizontally", "flip", {"direction": "horizontal"}),
        ("crop to the left half", "crop", {"right": 0.5}),
        ("make it black and white", "grayscale", {}),
    ],
)
def test_cpu_parses(text, tool, args):
    found = match_cpu(text)
    assert found is not None and (found.tool, found.args) == (tool, args)


def test_an_edit_aimed_at_a_region_mentions_a_cpu_tool_but_is_not_one():
    assert match_cpu("blur the background") is None  # 'the background' is left over: generative
    assert mentions_edit("blur the background")


def test_degree_follows_hedges_and_intensifiers():
    assert [degree(t, 1, 2, 3) for t in ("a bit brighter", "brighter", "much brighter")] == [1, 2, 3]
