"""Openings the rules must read by meaning: evaluative ones and complaints that name no fix are asked
about, answers to a size question reach ``resize``, capability questions are answered (never edited),
swaps of two objects stay whole, and indirect openings that name their change run as that change.
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.eval.simulate.editor import RecordingEditor
from agent.models.prompts import SYSTEM_PROMPT
from agent.policy.capability import capability_request
from agent.policy.indirect import indirect_request
from agent.policy.local import LocalPolicy
from agent.policy.text import normalize
from agent.session.engine import Engine, Session
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, gradient
from tools.registry import load_registry


def session(*, learned: bool = True, editor_ready: bool = True, editor: Any = None) -> Session:
    """The embedded policy on the real graph; ``editor_ready``: the generative editor is offered as callable;
    ``editor``: one that stands in for it.
    """
    tools = {**load_registry(plugins=False), **({"instruct_pix2pix": editor} if editor is not None else {})}
    deps = GraphDeps(
        LocalPolicy(learned=learned), tools, MemoryImageStore(), SYSTEM_PROMPT, seed=0,
        confirm="never", offer_unready=editor_ready,
    )  # fmt: skip
    return Engine(build_graph(InMemorySaver()), deps).open(gradient((48, 32)))


@pytest.mark.parametrize("learned", [True, False])
@pytest.mark.parametrize(
    "text",
    ["make it pop", "make it stand out", "make it more interesting", "spice it up", "Make it pop!",
     "the background is boring", "the chocolate cake is distracting", "the picture feels empty",
     "I'm tired of seeing the metal sign there", "the red shirt doesn't look right in that colour"],
)  # fmt: skip
def test_an_opening_that_only_judges_gets_a_question_and_no_edit(text, learned):
    reply = session(learned=learned).send(text)
    assert reply.action == "clarify" and reply.tool is None and len(reply.revisions) == 1, reply.text


def test_a_tone_word_with_its_subject_named_is_still_an_edit():
    reply = session().send("make the colors pop")
    assert reply.action == "edit" and reply.tool == "adjust_tone"


@pytest.mark.parametrize(
    ("answer", "size"),
    [("320 pixels wide", (320, 213)), ("200x100", (200, 100)), ("half the size", (24, 16)), ("50%", (24, 16)),
     ("64 pixels tall", (96, 64)), ("a third of the size", (16, 11))],
)  # fmt: skip
@pytest.mark.parametrize("editor_ready", [True, False])
def test_an_answer_to_the_size_question_reaches_resize_with_its_numbers(answer, size, editor_ready):
    chat = session(editor_ready=editor_ready)  # resize is a CPU tool: the question is asked with no editor too
    assert chat.send("change the size").action == "clarify"
    reply = chat.send(answer)
    assert reply.action == "edit" and reply.tool == "resize", reply.text
    assert chat.image().size == size


@pytest.mark.parametrize(
    ("text", "asked"),
    [("can you also remove the background?", "remove the background"),
     ("are you able to blur faces?", "blur faces"),
     ("can you do watercolor?", "make it look like a watercolor"),
     ("is it possible to make it black and white", "make it black and white")],
)  # fmt: skip
def test_a_capability_question_is_answered_with_the_tool_and_an_offer_and_yes_runs_it(text, asked):
    assert capability_request(text) == asked
    chat = session()
    reply = chat.send(text)
    assert reply.action == "clarify" and len(reply.revisions) == 1 and reply.text.startswith("Yes"), reply.text
    assert asked in reply.text
    done = chat.send("yes")
    assert done.action == "edit" and done.instruction == asked


def test_a_capability_question_names_the_cpu_tool_that_would_do_it():
    assert "adjust_tone" in session().send("can you also make it brighter?").text


def test_a_capability_question_for_a_missing_editor_gets_the_honest_line():
    reply = session(editor_ready=False).send("can you also remove the background?")
    assert reply.action == "chat" and "generative editor" in reply.text and len(reply.revisions) == 1


@pytest.mark.parametrize(
    "text", ["can you make it brighter?", "could you make it black and white", "can you flip it horizontally"]
)
def test_a_polite_request_is_not_a_capability_question(text):
    assert capability_request(text) is None
    assert session().send(text).action == "edit"


@pytest.mark.parametrize("text", ["swap the dog and the cat", "switch the positions of the two cars"])
def test_a_swap_goes_whole_to_the_generative_editor_or_gets_the_not_ready_line(text):
    ready = session().send(text)
    assert ready.tool == "instruct_pix2pix" and ready.instruction == text and ready.action != "clarify"
    missing = session(editor_ready=False).send(text)
    assert missing.action == "chat" and "generative editor" in missing.text and "replaced" not in missing.text


@pytest.mark.parametrize(
    ("text", "tool", "instruction"),
    [("I wish the sky were bluer", "instruct_pix2pix", "make the sky bluer"),
     ("it would be nice if it were brighter", "adjust_tone", "make it brighter"),
     ("it's too dark", "adjust_tone", "make it brighter"),
     ("it's way too bright", "adjust_tone", "make it darker"),
     ("it's upside down", "rotate", "rotate it 180 degrees"),
     ("it's a bit blurry", "sharpen", "sharpen it"),
     ("the contrast is too harsh", "adjust_tone", "reduce the contrast"),
     ("I want it to glow red", "tint", "give it a red tint"),
     ("the file is too big to send", "resize", "halve the size")],
)  # fmt: skip
def test_an_indirect_opening_that_names_its_change_runs_as_that_change(text, tool, instruction):
    reply = session(learned=False).send(text)
    assert (reply.tool, reply.instruction) == (tool, instruction), reply.text


def test_an_indirect_opening_without_one_fix_is_left_alone():
    assert indirect_request("the background is boring") is None
    assert indirect_request("make it brighter") is None


def test_a_yes_to_the_offer_is_the_consent_and_is_not_asked_again():
    deps = GraphDeps(
        LocalPolicy(), load_registry(plugins=False), MemoryImageStore(), SYSTEM_PROMPT, seed=0, confirm="auto"
    )
    chat = Engine(build_graph(InMemorySaver()), deps).open(gradient((48, 32)))
    assert chat.send("can you also make it brighter?").action == "clarify"
    done = chat.send("yes")
    assert done.action == "edit" and done.tool == "adjust_tone" and len(chat.path()) == 2


@pytest.mark.parametrize(
    ("text", "tool", "instruction"),
    [("remova man on the left", "instruct_pix2pix", "remove man on the left"),
     ("please increse the brigthness", "adjust_tone", "increase the brightness"),
     ("reflection light gone", "instruct_pix2pix", "remove the reflection light"),
     ("sky darkened", "instruct_pix2pix", "darken the sky"),
     ("get the man in the middle, the man in the background, out of this image", "instruct_pix2pix",
      "remove the man in the middle, the man in the background"),
     ("adjust the contrast, then lower it a lot", "adjust_tone", "lower the contrast a lot"),
     ("change the brightness, turn it up", "adjust_tone", "raise the brightness")],
)  # fmt: skip
@pytest.mark.parametrize("learned", [True, False])
def test_a_slip_a_result_a_list_or_a_direction_said_after_reads_as_the_one_edit(text, tool, instruction, learned):
    reply = session(learned=learned).send(text)
    assert (reply.action, reply.tool, reply.instruction) == ("edit", tool, instruction), reply.text


def test_only_slips_of_edit_words_are_respelt():
    assert normalize("rmove the remote, take a chance, darker, removed, changes") == (
        "remove the remote, take a chance, darker, removed, changes"
    )
    assert normalize("more saturnation and less backround") == "more saturation and less background"


@pytest.mark.parametrize("text", ["the dog is gone", "it's all gone now"])
def test_a_remark_that_something_is_gone_is_no_removal(text):
    assert session(learned=False).send(text).action != "edit"


@pytest.mark.parametrize(
    "text",
    ["i would like this image to be clearer and not look so old. thank you",
     "hello! would you please edit the teeth, color, sharpness?",
     "can someone help clear up and beautify this graduation image (only one i have)?",
     "not sure if anything can be done, me and my uncle in 1999. image of a crappy quality image."],
)  # fmt: skip
def test_a_request_wrapped_in_thanks_a_greeting_a_help_or_a_hedge_is_asked_about_not_chatted_to(text):
    reply = session().send(text)
    assert reply.action == "clarify", reply.text
    assert not reply.text.startswith(("You're welcome", "Hi!", "No rush", "I edit your image")), reply.text


@pytest.mark.parametrize("text", ["thanks!", "hello there", "help", "hmm, not sure, let me think"])
def test_thanks_a_greeting_help_and_a_hesitation_alone_are_still_answered_in_words(text):
    assert session().send(text).action == "chat"


def test_not_sure_if_before_a_request_is_a_hedge_and_the_request_runs():
    reply = session(learned=False).send("not sure if this is hard to do, but could you remove the girl on the left?")
    assert (reply.action, reply.tool) == ("edit", "instruct_pix2pix"), reply.text


def test_how_do_i_with_an_edit_is_answered_with_the_offer_and_elsewhere_with_help():
    reply = session(learned=False).send("how do i make it brighter?")
    assert reply.action == "clarify" and "adjust_tone" in reply.text and "Shall I?" in reply.text
    assert session(learned=False).send("how do i crop it in photoshop?").action == "chat"
    assert session(learned=False).send("how do i turn off the confirmations?").action == "chat"


@pytest.mark.parametrize(
    ("text", "tool"),
    [("change the image from black and white to a color image", "instruct_pix2pix"),
     ("turn this black and white image into color", "instruct_pix2pix"),
     ("convert it to black and white", "grayscale")],
)  # fmt: skip
def test_colour_put_in_is_never_black_and_white(text, tool):
    reply = session(learned=False).send(text)
    assert (reply.action, reply.tool) == ("edit", tool), reply.text


def recorded(*, learned: bool) -> Session:
    """The embedded policy on the real graph with the recording generative editor, which applies every edit."""
    return session(learned=learned, editor=RecordingEditor())


def edits_sent(chat: Session) -> list[str]:
    """The instruction of every edit on the current image's path, oldest first."""
    return [r["instruction"] for r in chat.path()[1:]]


@pytest.mark.parametrize(
    ("text", "sent"),
    [("can anyone remove this guys hand, i'll give gold to one of you!", ["remove this guys hand"]),
     ("can someone make the shoes all white, or maybe a soft pink color?", ["make the shoes all white"]),
     ("it might be hard, but could someone remove the guy in the background please?",
      ["remove the guy in the background"]),
     ("love this image, but can someone please remove the photographer?", ["remove the photographer"])],
)  # fmt: skip
@pytest.mark.parametrize("learned", [True, False])
def test_a_story_a_hedge_or_an_alternative_around_a_request_is_never_sent_to_the_editor(text, sent, learned):
    chat = recorded(learned=learned)
    assert chat.send(text).action == "edit"
    assert edits_sent(chat) == sent


def test_a_request_for_advice_is_asked_about_not_edited():
    chat = recorded(learned=False)
    assert chat.send("can anyone give me advice on how to improve this image?").action == "clarify"
    assert edits_sent(chat) == []
