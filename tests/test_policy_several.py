"""Messages of several edits through the real graph, CPU tools and the embedded policy.

Every explicit part runs, in the order said, each its own revision; a vague part gets a question
naming what it lacks: the parts said before it run at once and the question closes the reply, the
parts after it wait and run with the completed part once the user answers.
"""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.eval.simulate.editor import RecordingEditor
from agent.models.prompts import SYSTEM_PROMPT
from agent.policy.carry import carried, complete, waiting
from agent.policy.context import Asked
from agent.policy.local import LocalPolicy
from agent.session.engine import Engine, Session
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, gradient
from tools.registry import load_registry


def session(*, learned: bool, confirm: str = "never") -> Session:
    """The embedded policy on the real graph with every CPU tool and the recording generative editor."""
    tools = {**load_registry(plugins=False), "instruct_pix2pix": RecordingEditor()}
    deps = GraphDeps(LocalPolicy(learned=learned), tools, MemoryImageStore(), SYSTEM_PROMPT, seed=0,
                     confirm=confirm, offer_unready=True)  # fmt: skip
    return Engine(build_graph(InMemorySaver()), deps).open(gradient((48, 32)))


def edits(chat: Session) -> list[tuple[str, dict]]:
    """(tool, params) of every edit on the current image's path, oldest first."""
    return [(r["tool"], dict(r["params"])) for r in chat.path()[1:]]


LEARNED = pytest.mark.parametrize("learned", [True, False])


@LEARNED
def test_three_explicit_edits_in_one_message_are_three_revisions_in_order(learned):
    chat = session(learned=learned)
    reply = chat.send("rotate it 90 degrees clockwise, make it brighter and crop to the left half")
    assert reply.actions == ("edit", "edit", "edit") and len(reply.revisions) == 4  # the original and three
    (rotate, r), (tone, t), (crop, c) = edits(chat)
    assert (rotate, r["degrees"], tone, crop, c["right"]) == ("rotate", -90, "adjust_tone", "crop", 0.5)
    assert t["brightness"] > 1


@LEARNED
@pytest.mark.parametrize(
    ("text", "tools"),
    [("rotate it 90 degrees clockwise and posterize it", ["rotate", "posterize"]),
     ("flip it vertically and can you sharpen it", ["flip", "sharpen"]),
     ("Invert the colors. Give it a red tint.", ["invert", "tint"]),
     ("remove the zebra and add a waterhole", ["instruct_pix2pix", "instruct_pix2pix"])],
)  # fmt: skip
def test_each_part_is_its_own_call_never_merged(text, tools, learned):
    chat = session(learned=learned)
    assert chat.send(text).action == "edit"
    assert [tool for tool, _ in edits(chat)] == tools


@LEARNED
@pytest.mark.parametrize(
    ("text", "asked", "answer", "tools"),
    [("make it brighter and rotate it", "rotate", "90 degrees clockwise", (["adjust_tone"], ["adjust_tone", "rotate"])),
     ("rotate it and flip it vertically", "rotate", "90 degrees clockwise", ([], ["rotate", "flip"])),
     ("flip it horizontally and adjust the contrast", "up or down", "up", (["flip"], ["flip", "adjust_tone"])),
     ("remove the zebra and add something", "add", "a tree on the left of the waterhole",
      (["instruct_pix2pix"], ["instruct_pix2pix", "instruct_pix2pix"]))],
)  # fmt: skip
def test_the_parts_before_a_vague_one_run_and_the_rest_waits_for_the_answer(text, asked, answer, tools, learned):
    """The edits said before the vague part run at once and the question closes the same reply; the
    parts after it wait, so every edit lands in the order said (``tools``: after the question, at the end)."""
    ran, done = tools
    chat = session(learned=learned)
    question = chat.send(text)
    assert question.action == ("edit" if ran else "clarify") and asked in question.text.lower()
    assert [tool for tool, _ in edits(chat)] == ran
    reply = chat.send(answer)
    assert reply.action == "edit" and [tool for tool, _ in edits(chat)] == done, reply.text
    if done[0] == "adjust_tone":
        assert edits(chat)[0][1]["brightness"] > 1 and edits(chat)[1][1]["degrees"] == -90
    if done == ["flip", "adjust_tone"]:
        assert edits(chat)[1][1]["contrast"] > 1
    if "zebra" in text:
        assert [r["instruction"] for r in chat.path()[1:]] == [
            "remove the zebra",
            "add a tree on the left of the waterhole",
        ]


@LEARNED
@pytest.mark.parametrize(
    ("text", "ran", "done"),
    [("rotate it 90 degrees clockwise, fix it up, and crop to the left half", ["rotate"],
      ["rotate", "adjust_tone", "crop"]),
     ("The background is boring. Rotate it 90 degrees clockwise.", [], ["adjust_tone", "rotate"])],
)  # fmt: skip
def test_an_evaluative_part_or_a_complaint_beside_explicit_edits_is_asked_about_in_its_place(text, ran, done, learned):
    """'fix it up' between two edits stands for an edit the user has in mind: it is asked about where it
    was said, and the answer lands between the two."""
    chat = session(learned=learned)
    first = chat.send(text)
    assert "change" in first.text.lower() and [tool for tool, _ in edits(chat)] == ran
    assert chat.send("make it brighter").action == "edit" and [tool for tool, _ in edits(chat)] == done


@LEARNED
@pytest.mark.parametrize(
    ("text", "done"),
    [("make it look better and rotate it 90 degrees clockwise", ["rotate"]),
     ("enhance the image and make it less blurry", ["sharpen"])],
)  # fmt: skip
def test_an_evaluative_opening_spelt_out_by_the_edits_after_it_runs_them(text, done, learned):
    """Real posts open with the goal and then say how ('enhance the image, crop the people'; GIER labels
    them edits): the edits are what 'better' means, so they run and nothing is asked."""
    chat = session(learned=learned)
    reply = chat.send(text)
    assert reply.action == "edit" and "?" not in reply.text and [tool for tool, _ in edits(chat)] == done


@LEARNED
@pytest.mark.parametrize(
    ("text", "done"),
    [("The file is too big to send. Sharpen it.", ["resize", "sharpen"]),
     ("It's the wrong way round, like a mirror image. Increase the contrast.", ["flip", "adjust_tone"])],
)  # fmt: skip
def test_a_complaint_that_names_its_fix_beside_an_edit_is_an_edit_too(text, done, learned):
    chat = session(learned=learned)
    assert chat.send(text).action == "edit" and [tool for tool, _ in edits(chat)] == done


@LEARNED
@pytest.mark.parametrize(
    ("text", "answer", "ran", "done"),
    [("crop the image and make it brighter", "the left half", ["adjust_tone"], ["adjust_tone", "crop"]),
     ("please, rotate the image and remove the guy", "90 degrees clockwise", ["instruct_pix2pix"],
      ["instruct_pix2pix", "rotate"]),
     ("crop it and rotate it 90 degrees clockwise", "the left half", [], ["crop", "rotate"])],
)  # fmt: skip
def test_a_crop_or_rotation_with_nothing_said_of_it_is_asked_about_after_the_content_edits(
    text, answer, ran, done, learned
):
    """A photo is framed last: the content edits run and the framing question closes the reply; before
    another change of the frame the order said stands (the crop's region depends on the rotation)."""
    chat = session(learned=learned)
    first = chat.send(text)
    assert "?" in first.text and [tool for tool, _ in edits(chat)] == ran
    assert chat.send(answer).action == "edit" and [tool for tool, _ in edits(chat)] == done


@LEARNED
def test_two_vague_parts_are_asked_about_in_turn_and_nothing_is_lost(learned):
    chat = session(learned=learned)
    assert "rotate" in chat.send("rotate it, make it brighter and add something").text.lower()
    second = chat.send("90 degrees clockwise")
    assert second.action == "edit" and "add" in second.text.lower()
    assert [tool for tool, _ in edits(chat)] == ["rotate", "adjust_tone"]
    chat.send("a hat on the man")
    assert [tool for tool, _ in edits(chat)] == ["rotate", "adjust_tone", "instruct_pix2pix"]


def test_edits_this_session_would_propose_wait_with_the_question_instead():
    """A proposal and a question in one reply would be two questions: with confirm=always the edits
    before the vague part are held, and the whole request is proposed once the question is answered."""
    chat = session(learned=True, confirm="always")
    question = chat.send("make it black and white and crop the image")
    assert question.action == "clarify" and edits(chat) == [] and "crop" in question.text.lower()
    proposal = chat.send("the left half")
    assert [e["name"] for e in proposal.confirmation["edits"]] == ["grayscale", "crop"]
    chat.send("yes")
    assert [tool for tool, _ in edits(chat)] == ["grayscale", "crop"]


def test_with_confirmation_the_completed_request_runs_whole_in_the_users_words():
    chat = session(learned=True, confirm="auto")
    chat.send("make it brighter and rotate it")
    assert chat.send("90 degrees clockwise").action == "edit"  # the answer is the consent: no second question
    assert [tool for tool, _ in edits(chat)] == ["adjust_tone", "rotate"]


def test_with_confirmation_a_completed_request_in_other_words_is_proposed_whole_and_yes_runs_it():
    chat = session(learned=True, confirm="auto")
    assert chat.send("make it look better").action == "clarify"
    proposal = chat.send("brighter and more vivid colours, and rotate it 90 degrees clockwise")  # spelt 'colors'
    # by the policy: not the user's words
    assert proposal.action == "confirm" and edits(chat) == []
    assert [e["name"] for e in proposal.confirmation["edits"]] == ["adjust_tone", "rotate"]
    chat.send("yes")
    assert [tool for tool, _ in edits(chat)] == ["adjust_tone", "rotate"]


def test_the_carried_request_is_read_back_from_the_messages():
    assert waiting("make it brighter and rotate it") == 1
    assert waiting("rotate it") is None  # one clause: the single-request rules answer it
    assert waiting("make it brighter and rotate it 90 degrees clockwise") is None
    assert complete("make it brighter and rotate it", "90 degrees clockwise") == (
        "make it brighter; rotate it 90 degrees clockwise"
    )
    assert complete("rotate it and add something", "make it black and white") == (
        "make it black and white; add something"
    )
    chain = ["rotate it, make it brighter and add something", "90 degrees clockwise"]
    assert carried([Asked(t) for t in chain]) == "rotate it 90 degrees clockwise; make it brighter; add something"
    assert carried([Asked("make it pop")]) is None
