"""Real users' posts: an operation named inside a story or a 'help me' is carried out; a post that only asks
for an improvement ("clean up this photo of my grandparents") gets a question about what to change.
"""

from __future__ import annotations

import pytest

from agent.policy.posts import evaluative_only, names_operation, operation_sentence
from agent.policy.text import normalize
from tests.test_policy_openings import session


@pytest.mark.parametrize(
    "text",
    ["we finally got a photo at the lake. could one of you edit the man in the red coat out of it? thanks!",
     "hoping someone can help me get rid of the lamp post behind my son",
     "would anybody be willing to take the two tourists out of this picture? much appreciated",
     "looking to have the trash can removed from the corner, thank you"],
)  # fmt: skip
def test_an_operation_named_in_a_post_is_an_operation(text):
    assert names_operation(normalize(text)) and not evaluative_only(normalize(text))


@pytest.mark.parametrize(
    "text",
    ["can someone clean up this old photo of my grandparents? it's for their anniversary",
     "[specific] could anybody touch up this picture of our dog? thank you!",
     "please help me make this look better, it's my profile picture",
     "have fun with this one", "would someone enhance this scan for me?"],
)  # fmt: skip
def test_a_post_with_only_an_evaluative_goal_names_no_operation(text):
    assert evaluative_only(normalize(text)) and not names_operation(normalize(text))


def test_a_how_to_question_is_not_a_request_to_edit():
    assert not evaluative_only(normalize("how do i fix the lighting in photoshop?"))
    assert operation_sentence("we love this one. can you remove the car? thanks") == "can you remove the car?"


@pytest.mark.parametrize("learned", [True, False])
def test_a_story_wrapped_removal_runs_the_generative_editor_with_the_sentence_that_names_it(learned):
    reply = session(learned=learned).send(
        "My grandpa passed away last month. Could someone help me get rid of the lamp post behind him? Thanks!"
    )
    assert reply.action == "edit" and reply.tool == "instruct_pix2pix", reply.text
    assert "lamp post" in (reply.instruction or "") and "grandpa" not in (reply.instruction or "")


@pytest.mark.parametrize("learned", [True, False])
def test_a_help_me_post_naming_no_change_gets_a_question_and_no_edit(learned):
    reply = session(learned=learned).send("Can someone clean up this photo of my grandparents? It means a lot.")
    assert reply.action == "clarify" and reply.tool is None and len(reply.revisions) == 1, reply.text
    assert "change" in reply.text


def test_without_the_editor_a_wrapped_removal_gets_the_honest_line_not_a_failure():
    reply = session(editor_ready=False).send("would anybody be willing to take the two tourists out of this picture?")
    assert reply.action != "edit" and len(reply.revisions) == 1 and "instruct_pix2pix" not in (reply.tool or "")


@pytest.mark.parametrize(
    ("text", "tool", "instruction"),
    [("brighten it, just make it look nicer", "adjust_tone", "brighten it"),
     ("please, boost contrast", "adjust_tone", "increase the contrast"),
     ("edit the lamp out of this picture", "instruct_pix2pix", "remove the lamp"),
     ("fix the washed out colours", "instruct_pix2pix", "fix the washed out colors")],
)  # fmt: skip
def test_a_named_change_runs_beside_an_evaluative_aside(text, tool, instruction):
    """The named change runs at once; an aside after it ('just make it look nicer') gets at most a
    'What else?' after the 'Done'."""
    reply = session(learned=False).send(text)
    assert (reply.action, reply.tool, reply.instruction) == ("edit", tool, instruction), reply.text
    assert "?" not in reply.text or reply.text.endswith("What else would you like me to change?" + OPTIONS)


OPTIONS = (
    " Options: make it brighter; make it black and white; give it a vintage look; turn it into a watercolor painting."
)


@pytest.mark.parametrize(
    ("text", "asked"),
    [("add my name to the bottom", "name say"), ("put a caption on it", "caption say"),
     ("give it a different look", "style"), ("apply a filter", "style"),
     ("swap the sky for something nicer", "sky be replaced"), ("put something in the corner", "add")],
)  # fmt: skip
@pytest.mark.parametrize("learned", [True, False])
def test_an_operation_missing_its_content_or_style_gets_a_question_naming_the_missing_piece(text, asked, learned):
    reply = session(learned=learned).send(text)
    assert reply.action == "clarify" and asked in reply.text and len(reply.revisions) == 1, reply.text
