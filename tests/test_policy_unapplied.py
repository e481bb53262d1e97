"""Undo after an edit that never applied, 'back to the original', requests only a missing generative editor can do."""

from __future__ import annotations

from langgraph.checkpoint.memory import InMemorySaver

from agent.models.prompts import SYSTEM_PROMPT
from agent.policy.local import LocalPolicy
from agent.session.engine import Engine
from agent.session.session import Session
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, gradient
from tools.registry import load_registry


def session(confirm: str = "never", generative: bool = True) -> Session:
    """A session on the real graph and built-in tools. InstructPix2Pix has no weights here: ``generative``
    offers it all the same (offer_unready), so its edits fail; else it is not offered, as by default.
    """
    tools = dict(load_registry(plugins=False))
    deps = GraphDeps(
        LocalPolicy(), tools, MemoryImageStore(), SYSTEM_PROMPT, seed=0, confirm=confirm, offer_unready=generative
    )
    return Engine(build_graph(InMemorySaver()), deps).open(gradient((32, 24)))


def test_undo_after_a_failed_edit_says_nothing_was_applied():
    chat = session()
    failed = chat.send("turn the dog into a cheetah")
    assert "failed" in failed.actions and len(failed.revisions) == 1
    for text in ("undo the edit .", "forget that", "revert everything, I want the original picture back"):
        reply = chat.send(text)
        assert "Nothing was applied" in reply.text and "still the original" in reply.text, (text, reply.text)
        assert reply.action == "chat" and len(reply.revisions) == 1 and not {"edit", "failed"} & set(reply.actions)


def test_back_to_the_original_while_an_edit_is_proposed_declines_it_and_edits_nothing():
    chat = session(confirm="always")
    proposed = chat.send("turn the dog into a cheetah")
    assert proposed.confirmation is not None
    reply = chat.send("revert everything, I want the original picture back")
    assert chat.confirmation() is None and len(reply.revisions) == 1
    assert not {"edit", "failed", "confirm"} & set(reply.actions)


def test_back_to_the_original_after_edits_undoes_to_the_upload():
    chat = session()
    chat.send("make it brighter")
    chat.send("make it black and white")
    reply = chat.send("go back to the original")
    assert reply.action == "undo" and reply.undo_steps == 2 and reply.head == reply.revisions[0]["id"]


def test_without_a_generative_editor_the_request_gets_one_line_and_runnable_suggestions():
    chat = session(generative=False)
    reply = chat.send("put a dragon in the sky")
    assert reply.action == "chat" and "generative editor" in reply.text and "\n" not in reply.text
    assert "make it brighter" in reply.text and "turn the sky purple" not in reply.text
    question = chat.send("change it")
    assert question.action == "clarify" and "turn the sky purple" not in question.text
    assert "watercolor" not in question.text
