"""Answers read in context (thanks and hesitation are not consent), evaluative requests after an edit are
questions, geometry reaches the CPU tools, and undo or forget do what the edits named mean.
"""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.models.prompts import SYSTEM_PROMPT
from agent.policy.local import LocalPolicy
from agent.policy.recipes import take_back
from agent.session.engine import Engine
from agent.session.session import Session
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, gradient
from tools.registry import load_registry

APPLIED = [
    ("adjust_tone", "make it warmer"),
    ("sepia", "apply a sepia tone"),
    ("blur", "blur it"),
    ("crop", "crop the left side"),
]


def session(confirm: str = "never") -> Session:
    """The embedded policy on the real graph and built-in CPU tools."""
    deps = GraphDeps(
        LocalPolicy(), load_registry(plugins=False), MemoryImageStore(), SYSTEM_PROMPT, seed=0, confirm=confirm
    )
    return Engine(build_graph(InMemorySaver()), deps).open(gradient((48, 32)))


@pytest.mark.parametrize("text", ["thanks!", "hmm, not sure, let me think", "I'm not sure", "let me think about it"])
def test_thanks_and_hesitation_at_a_confirmation_apply_nothing_and_keep_it_waiting(text):
    chat = session(confirm="always")
    assert chat.send("make it warmer").confirmation is not None
    reply = chat.send(text)
    assert reply.action == "chat" and len(reply.revisions) == 1 and "make it warmer" in reply.text
    assert "let me think" not in (reply.instruction or "")
    done = chat.send("yes")  # the proposal still waits for the answer
    assert done.action == "edit" and done.instruction == "make it warmer" and len(done.revisions) == 2


def test_hesitation_with_nothing_pending_is_never_an_instruction():
    reply = session().send("hmm, not sure, let me think")
    assert reply.action == "chat" and reply.instruction is None and len(reply.revisions) == 1


@pytest.mark.parametrize("text", ["make it look better", "improve it", "make it nicer"])
def test_an_evaluative_request_after_an_edit_is_a_question_not_praise(text):
    chat = session()
    chat.send("make it warmer")
    reply = chat.send(text)
    assert reply.action == "clarify" and len(reply.revisions) == 2


@pytest.mark.parametrize(("text", "size"), [("crop it to a square", (32, 32)), ("crop it to 16:9", (48, 27))])
def test_geometry_phrasings_reach_the_crop_tool(text, size):
    chat = session()
    reply = chat.send(text)
    assert reply.action == "edit" and reply.tool == "crop" and "empty answer" not in reply.text
    assert chat.image().size == size


@pytest.mark.parametrize(
    ("text", "steps"),
    [("undo both", 2), ("undo these edits", 2), ("undo the last two", 2), ("take back the blur and the crop", 2),
     ("undo the crop", 1), ("undo both of them", 2), ("undo those three changes", 3)],
)  # fmt: skip
def test_edits_named_that_are_the_latest_are_an_undo_of_that_many_steps(text, steps):
    chat = session()
    for request in ("make it warmer", "apply a sepia tone", "blur it", "crop the left side"):
        chat.send(request)
    reply = chat.send(text)
    assert reply.action == "undo" and reply.undo_steps == steps, reply.text


def test_a_forget_reaches_only_into_the_middle_and_a_reference_to_nothing_gets_a_question():
    assert take_back("undo the sepia", APPLIED, 1) == ("forget", {"edit": "2"})
    assert take_back("undo the crop", APPLIED, 1) == ("undo", {"steps": 1})
    assert take_back("undo the rainbow", APPLIED, 1)[0] == "ask_clarification"  # type: ignore[index]
    assert take_back("undo that", APPLIED, 1) is None and take_back("remove the dog", APPLIED, 1) is None
    chat = session()
    for request in ("make it warmer", "apply a sepia tone", "blur it"):
        chat.send(request)
    forgot = chat.send("undo the sepia")
    assert forgot.action == "forget" and len(chat.state()["revisions"]) > 4
    asked = chat.send("forget the rainbow")
    assert asked.action == "clarify" and "make it warmer" in asked.text and not asked.error
    for determiner in ("undo these", "undo those", "undo this"):
        assert session().send(determiner).action in ("undo", "chat")  # never a forget of an edit named "these"


def test_a_forget_whose_words_match_nothing_is_a_question_from_the_graph_too():
    from graphs.nodes import forget_rerender  # the served model's path: the forget node itself
    from graphs.recipe_plans import NoMatchingEdit

    assert issubclass(NoMatchingEdit, ValueError) and hasattr(forget_rerender, "run_recipe")
    chat = session()
    chat.send("make it warmer")
    chat.send("blur it")
    reply = chat.send("forget the rainbow but keep the rest")
    assert reply.action == "clarify" and "Which edit" in reply.text and not reply.error


@pytest.mark.parametrize(
    ("text", "piece"),
    [("add some text", "say"), ("replace it with something else", "replaced with"), ("move him somewhere", "move him")],
)
def test_vague_content_requests_ask_for_the_missing_piece_when_an_editor_can_do_them(text, piece):
    deps = GraphDeps(
        LocalPolicy(), load_registry(plugins=False), MemoryImageStore(), SYSTEM_PROMPT, seed=0, offer_unready=True
    )
    reply = Engine(build_graph(InMemorySaver()), deps).open(gradient()).send(text)
    assert reply.action == "clarify" and piece in reply.text, reply.text


def test_determiners_and_bare_nouns_never_name_an_edit():
    from agent.policy.recipes import recipe_request

    for text in ("undo the edit .", "undo these", "forget those", "undo the one", "revert everything, I want it back"):
        found = take_back(text, APPLIED, 1)
        assert recipe_request(text) is None and (found is None or found[0] == "undo"), text  # never a forget


def test_a_no_that_asks_for_the_undo_is_an_undo():
    chat = session()
    chat.send("sharpen the image")
    reply = chat.send("I don't like it, take it back")
    assert reply.action == "undo" and reply.undo_steps == 1 and len(chat.path()) == 1


@pytest.mark.parametrize("text", ["hmm, make it warmer", "hmm, ok, make it warmer", "um, increase the warmth"])
def test_a_request_after_a_hesitation_is_still_a_request(text):
    reply = session().send(text)
    assert reply.action == "edit" and reply.tool == "adjust_tone", reply.text
