"""Hostile round 4: ordinary messages that the round-4 reading (respelt slips, hedges, remarks, thanks only
when nothing else asks, requests written as their result) must still read as before, through the real graph.
"""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.eval.simulate.editor import RecordingEditor
from agent.models.prompts import SYSTEM_PROMPT
from agent.policy.local import LocalPolicy
from agent.policy.text import clauses, normalize
from agent.session.engine import Engine, Session
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, gradient
from tools.registry import load_registry

LEARNED = pytest.mark.parametrize("learned", [True, False])


def session(*, learned: bool, confirm: str = "never") -> Session:
    """The embedded policy on the real graph with every CPU tool and the recording generative editor."""
    tools = {**load_registry(plugins=False), "instruct_pix2pix": RecordingEditor()}
    deps = GraphDeps(LocalPolicy(learned=learned), tools, MemoryImageStore(), SYSTEM_PROMPT, seed=0,
                     confirm=confirm, offer_unready=True)  # fmt: skip
    return Engine(build_graph(InMemorySaver()), deps).open(gradient((48, 32)))


@LEARNED
@pytest.mark.parametrize(
    "text",
    ["hmm, not sure, let me think", "not sure if i want that", "hmm, not sure if i want that",
     "i'm not sure whether that's a good idea", "not sure how it'll look", "i don't know if that's right",
     "idk if that's what i want"],
)  # fmt: skip
def test_a_hesitation_while_a_proposal_waits_keeps_it_waiting(text, learned):
    """'not sure if ...' alone doubts the proposal; only a request after it ('..., but could you ...') is one."""
    chat = session(learned=learned, confirm="always")
    assert chat.send("make it brighter").action == "confirm"
    reply = chat.send(text)
    assert reply.action == "chat" and "still waiting" in reply.text and len(chat.path()) == 1, reply.text
    assert chat.send("yes").action == "edit" and len(chat.path()) == 2


@LEARNED
@pytest.mark.parametrize(
    "text",
    ["thanks, that looks better", "thank you, it looks much nicer now", "thanks, that's all i need",
     "thanks, that's exactly what i want", "thanks, i can use this", "thanks! would have taken me hours",
     "thanks, much clearer now", "thank you, you can stop now", "thanks, that should do it",
     "thank you! i need to show this to my mom"],
)  # fmt: skip
def test_thanks_with_a_remark_on_the_result_is_thanks(text, learned):
    chat = session(learned=learned)
    chat.send("remove the car")
    reply = chat.send(text)
    assert reply.action == "chat" and "welcome" in reply.text.lower() and len(chat.path()) == 2, reply.text


@LEARNED
@pytest.mark.parametrize(
    "text",
    ["could someone whiten the teeth? thanks", "i'd like the teeth whiter, thank you",
     "just him, from chest up, plain background, and clearer. thanks"],
)  # fmt: skip
def test_thanks_after_a_request_is_still_the_request(text, learned):
    reply = session(learned=learned).send(text)
    assert "welcome" not in reply.text.lower(), reply.text


@LEARNED
@pytest.mark.parametrize(
    ("text", "asked"),
    [("crop it to the left half but please keep the dog", "crop"),
     ("make it black and white but please keep the red car", "black and white"),
     ("brighten it but please don't blow out the sky", "brighten"),
     ("remove the man but could you keep his shadow", "remove the man")],
)  # fmt: skip
def test_a_request_before_but_is_never_stripped_as_a_hedge(text, asked, learned):
    """'it might be hard, but could someone ...' opens on a hedge; 'crop it but please ...' on the request."""
    chat = session(learned=learned)
    reply = chat.send(text)
    ran = " | ".join(f"{r['tool']}: {r['instruction']}" for r in chat.path()[1:])
    assert asked in ran or asked.split()[0] in reply.text.lower(), (reply.text, ran)


@LEARNED
@pytest.mark.parametrize(
    "text", ["finally gone!", "totally gone", "yay its gone", "too darkened", "over sharpened", "way too brightened",
             "a bit darkened"]
)  # fmt: skip
def test_a_remark_on_the_result_is_never_an_edit_of_an_adverb(text, learned):
    chat = session(learned=learned)
    chat.send("remove the car")
    reply = chat.send(text)
    assert not any(
        w in (reply.instruction or "")
        for w in ("the finally", "the totally", "its", "the too", "the over", "the way", "the a bit")
    ), reply.instruction


@pytest.mark.parametrize(
    ("text", "parts"),
    [("take the man out, brighten it, and get the dog out of the image",
      ["take the man out", "brighten it", "get the dog out of the image"]),
     ("get rid of the car, make it brighter, and take the sign out of the image",
      ["get rid of the car", "make it brighter", "take the sign out of the image"]),
     ("get the man in the middle, the man in the background, out of this image",
      ["get the man in the middle, the man in the background, out of this image"])],
)  # fmt: skip
def test_only_a_list_of_things_inside_get_out_of_the_image_stays_one_clause(text, parts):
    assert clauses(text) == parts


@LEARNED
def test_edits_around_a_get_out_of_the_image_each_run(learned):
    chat = session(learned=learned)
    chat.send("get rid of the car, make it brighter, and take the sign out of the image")
    assert [r["tool"] for r in chat.path()[1:]] == ["instruct_pix2pix", "adjust_tone", "instruct_pix2pix"]


@pytest.mark.parametrize(
    "word", ["tighten", "tightness", "brighton", "convent", "covert", "contrasty", "invest", "invent", "reside"]
)
def test_real_words_one_letter_from_an_edit_word_are_never_respelt(word):
    assert normalize(f"the {word} one") == f"the {word} one"


@LEARNED
def test_tighten_the_crop_is_never_lighten(learned):
    reply = session(learned=learned).send("tighten the crop on the left")
    assert "lighten" not in (reply.instruction or "") and "lighten" not in reply.text, reply.text


@LEARNED
@pytest.mark.parametrize(
    ("text", "tool"),
    [("we need the sky bluer", "instruct_pix2pix"), ("we want it sharper", "sharpen"),
     ("we'd like it brighter", "adjust_tone"), ("i prefer it brighter", "adjust_tone"),
     ("i'm looking to brighten it", "adjust_tone"),
     ("the sky is nice, but make the grass greener", "instruct_pix2pix")],
)  # fmt: skip
def test_a_request_said_as_we_or_after_but_is_no_remark(text, tool, learned):
    """REMARK keeps stories and alternatives from the editor; 'we need ...' and ', but make ...' ask."""
    chat = session(learned=learned)
    reply = chat.send(text)
    assert reply.action == "edit" and reply.tool == tool, reply.text
    assert not (reply.instruction or "").startswith(("we ", "but ", "i ")), reply.instruction


@LEARNED
@pytest.mark.parametrize(
    ("correction", "tool"),
    [("but make it a bit lighter", "adjust_tone"), ("but rotate it 90 degrees clockwise", "rotate")],
)
def test_a_correction_opening_on_but_runs_after_an_edit(correction, tool, learned):
    chat = session(learned=learned)
    chat.send("make the sky blue")
    reply = chat.send(correction)
    assert reply.action == "edit" and reply.tool == tool and len(chat.path()) == 3, reply.text


@LEARNED
def test_a_message_opening_on_or_corrects_and_a_later_or_clause_stays_an_alternative(learned):
    chat = session(learned=learned)
    chat.send("make the sky blue")
    assert "purple" in chat.send("or make it purple").text  # read as 'make it purple', not a remark
    other = session(learned=learned)
    other.send("make it brighter, or make it darker if that looks bad")
    assert [r["tool"] for r in other.path()[1:]] == ["adjust_tone"]


@LEARNED
def test_how_can_i_with_a_vague_edit_gets_the_question_not_an_offer_of_it(learned):
    reply = session(learned=learned).send("how can i fix this photo")
    assert reply.action == "clarify" and not reply.text.startswith("Yes"), reply.text
    assert session(learned=learned).send("how do i remove the man in the background").text.startswith("Yes")


@LEARNED
@pytest.mark.parametrize(
    ("first", "correction", "tool", "check"),
    [("make it brighter", "i meant darker", "adjust_tone", lambda p: p["brightness"] < 1),
     ("make it brighter", "i wanted it darker", "adjust_tone", lambda p: p["brightness"] < 1),
     ("give it a red tint", "or rather blue", "tint", lambda p: p["color"] == "blue")],
)  # fmt: skip
def test_a_correction_without_a_verb_replaces_the_edit_just_made(first, correction, tool, check, learned):
    """'i meant darker' after an edit is 'no, darker': the edit is taken back and the corrected one made."""
    chat = session(learned=learned)
    assert chat.send(first).action == "edit"
    reply = chat.send(correction)
    path = chat.path()
    assert len(path) == 2 and path[1]["tool"] == tool and check(dict(path[1]["params"])), reply.text


def test_i_mean_before_a_request_is_only_a_lead_in():
    assert session(learned=False).send("i mean, could you make it brighter?").tool == "adjust_tone"


def test_a_doubt_before_but_and_a_request_is_a_hedge_not_a_hesitation():
    chat = session(learned=False)
    reply = chat.send("i don't know how hard this is but could you remove the man on the left?")
    assert reply.action == "edit" and chat.path()[1]["instruction"] == "remove the man on the left"


@pytest.mark.parametrize("text", ["would somebody please fix the color in this image?", "fix the colors"])
def test_fixing_the_colours_is_a_colour_correction(text):
    reply = session(learned=False).send(text)
    assert (reply.action, reply.instruction) == ("edit", "fix the color balance")
