"""Questions that need the image: an object the photo holds twice is asked about, and the answer folded in.

A fake detector returns fixed boxes through the Detector interface; everything else is real: the
graph, the embedded policy (or a scripted model standing in for a served one), the checkpointer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

import pytest
from langchain_core.messages import ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from PIL import Image

from agent.models.prompts import SYSTEM_PROMPT
from agent.policy.local import LocalPolicy
from agent.session.engine import Engine
from agent.session.session import Session
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from graphs.referents import name_candidate, object_phrases, positions
from tests.fakes import MemoryImageStore, RecordingTool, ai, call, gradient
from tools.base import ToolCapabilities
from tools.detect import Detection, Detector, suppress_overlaps

WIDTH, HEIGHT = 64, 48


class Generative(RecordingTool):
    """A recording tool that follows free-form instructions, as InstructPix2Pix does."""

    name: ClassVar[str] = "fake_editor"
    capabilities: ClassVar[ToolCapabilities] = ToolCapabilities(generative=True)


class FixedBoxes:
    """A detector that finds the boxes it was given, for the labels asked about; records each call."""

    def __init__(self, boxes: dict[str, list[tuple[float, float, float, float]]]) -> None:
        self.boxes = boxes
        self.calls: list[tuple[tuple[int, int], list[str]]] = []

    def detect(self, image: Image.Image, labels: Sequence[str]) -> list[Detection]:
        self.calls.append((image.size, list(labels)))
        return [Detection(label, 0.9, box) for label in labels for box in self.boxes.get(label, [])]


class Crashes:
    """A detector with a bug."""

    def detect(self, image: Image.Image, labels: Sequence[str]) -> list[Detection]:
        raise RuntimeError("detector bug")


LEFT, RIGHT = (2.0, 10.0, 20.0, 40.0), (40.0, 12.0, 60.0, 44.0)
TOP, MIDDLE, BOTTOM = (20.0, 0.0, 40.0, 12.0), (22.0, 18.0, 42.0, 30.0), (18.0, 34.0, 38.0, 47.0)


def policy_session(detector: Detector | None, tool: RecordingTool, model=None) -> Session:
    deps = GraphDeps(
        model=model or LocalPolicy(),
        tools={tool.name: tool},
        store=MemoryImageStore(),
        system_prompt=SYSTEM_PROMPT,
        confirm="never",
        detector=detector,
    )
    return Engine(build_graph(InMemorySaver()), deps).open(gradient((WIDTH, HEIGHT)))


def test_two_cats_get_a_question_by_position_and_the_answer_is_folded_in():
    tool, detector = Generative(), FixedBoxes({"cat": [RIGHT, LEFT]})
    session = policy_session(detector, tool)
    first = session.send("change the cat to a tiger")
    assert first.action == "clarify" and not tool.calls
    assert first.text == "I can see more than one cat. Which do you mean: the cat on the left or the one on the right?"
    assert detector.calls == [((WIDTH, HEIGHT), ["cat"])]
    assert len(first.revisions) == 1
    second = session.send("the left one")
    assert second.action == "edit" and second.instruction == "change the cat on the left to a tiger"
    assert len(tool.calls) == 1 and len(second.revisions) == 2
    assert len(detector.calls) == 1  # the folded instruction names its cat: nothing to look up


def test_three_in_a_column_are_named_top_to_bottom_and_all_of_them_is_an_answer():
    tool = Generative()
    session = policy_session(FixedBoxes({"black dog": [BOTTOM, TOP, MIDDLE]}), tool)
    first = session.send("please make the black dog wear a hat")
    assert first.action == "clarify"
    assert "the black dog at the top, the one in the middle or the one at the bottom?" in first.text
    second = session.send("all of them")
    assert second.instruction == "make every black dog wear a hat" and len(tool.calls) == 1


def test_middle_answer_picks_the_middle_one():
    tool = Generative()
    session = policy_session(FixedBoxes({"cat": [LEFT, RIGHT, (24.0, 10.0, 36.0, 40.0)]}), tool)
    session.send("make the cat orange")
    assert session.send("the one in the centre").instruction == "make the cat in the middle orange"


def test_one_cat_goes_straight_to_the_edit():
    tool, detector = Generative(), FixedBoxes({"cat": [LEFT]})
    reply = policy_session(detector, tool).send("change the cat to a tiger")
    assert reply.action == "edit" and reply.instruction == "change the cat to a tiger"
    assert detector.calls == [((WIDTH, HEIGHT), ["cat"])] and len(tool.calls) == 1


def test_without_a_detector_the_edit_runs_as_before():
    tool = Generative()
    session = policy_session(None, tool)
    events: list[dict] = []
    reply = session.send("change the cat to a tiger", on_event=events.append)
    assert reply.action == "edit" and reply.instruction == "change the cat to a tiger"
    assert "disambiguate" not in {e.get("node") for e in events}


def test_an_answer_that_picks_nothing_is_an_ordinary_message():
    tool = Generative()
    session = policy_session(FixedBoxes({"cat": [LEFT, RIGHT]}), tool)
    session.send("change the cat to a tiger")
    # "all" names no candidate here: the message is an undo, and with no edit applied yet it says so (issue 13)
    reply = session.send("undo all of that")
    assert not tool.calls and reply.text.startswith("Nothing was applied")


def test_a_served_model_reads_the_candidates_and_is_not_asked_twice(make_session):
    """The scripted model stands in for vLLM: it sees the candidates in the ToolMessage."""
    tool = Generative()
    detector = FixedBoxes({"cat": [LEFT, RIGHT]})
    session = make_session(
        [
            ai(call("fake_editor", instruction="change the cat to a tiger")),
            ai(call("fake_editor", instruction="change the cat to a tiger")),  # did not fold the answer
        ],
        tools={"fake_editor": tool},
        detector=detector,
    )
    assert session.send("change the cat to a tiger").action == "clarify"
    reply = session.send("the left one")
    seen = session.engine.deps.model.seen[-1]
    told = [str(m.content) for m in seen if isinstance(m, ToolMessage)]
    assert any("(on the left, on the right)" in t and "'change the cat on the left to a tiger'" in t for t in told)
    assert reply.action == "edit" and len(tool.calls) == 1  # the same cat is never asked about twice in a row


def test_other_calls_of_the_message_wait_for_the_answer(make_session):
    tool = Generative()
    session = make_session(
        [ai(call("fake_editor", instruction="make it snowy"), call("fake_editor", instruction="remove the cat"))],
        tools={"fake_editor": tool},
        detector=FixedBoxes({"cat": [LEFT, RIGHT]}),
    )
    reply = session.send("make it snowy and remove the cat")
    assert reply.action == "clarify" and not tool.calls
    kinds = [m.artifact["kind"] for m in session.state()["messages"] if isinstance(m, ToolMessage)]
    assert kinds == ["skipped", "clarify"]


def test_a_broken_detector_costs_the_question_not_the_edit(caplog):
    tool = Generative()
    with caplog.at_level(logging.ERROR, logger="graphs.nodes.disambiguate"):
        reply = policy_session(Crashes(), tool).send("change the cat to a tiger")
    assert reply.action == "edit" and len(tool.calls) == 1
    assert "detector crashed" in caplog.text


@pytest.mark.parametrize(
    ("instruction", "labels"),
    [
        ("change the cat to a tiger", ["cat"]),
        ("make the black cat white", ["black cat"]),
        ("replace the dog with a cat", ["dog"]),
        ("put a hat on the dog", ["dog"]),
        ("remove the man's hat", ["man"]),
        ("change the cat on the left to a tiger", []),
        ("make the left cat orange", []),
        ("turn the cats into tigers", []),
        ("make the dog in the box smile", ["box"]),
        ("make the dog in the photo smile", ["dog"]),
        ("increase the brightness of the image", []),
        ("replace the two dogs with cats", []),
        ("change every cat to a tiger", []),
    ],
)
def test_object_phrases(instruction, labels):
    assert [p.label for p in object_phrases(instruction)] == labels


def test_positions_and_folding():
    row = [Detection("x", 0.5, (x, 0.0, x + 8.0, 8.0)) for x in (40.0, 0.0, 20.0, 30.0)]
    assert positions(row, (64, 48)) == [
        "fourth from the left", "first from the left", "second from the left", "third from the left",
    ]  # fmt: skip
    assert name_candidate("Remove the man's hat", "the man", "on the right") == "Remove the man on the right's hat"
    assert name_candidate("Change the Cat to a tiger", "the cat", "every") == "Change every cat to a tiger"


def test_overlapping_boxes_of_one_label_are_one_object():
    found = [Detection("cat", 0.9, LEFT), Detection("cat", 0.5, (3.0, 11.0, 21.0, 41.0)), Detection("dog", 0.4, LEFT)]
    assert suppress_overlaps(found) == [found[0], found[2]]


def test_four_in_the_corners_are_named_by_region():
    tool = Generative()
    corners = [(0.0, 0.0, 10.0, 10.0), (54.0, 0.0, 64.0, 10.0), (0.0, 38.0, 10.0, 48.0), (54.0, 38.0, 64.0, 48.0)]
    session = policy_session(FixedBoxes({"cup": corners}), tool)
    first = session.send("make the cup red")
    assert (
        "the cup at the top left, the one at the top right, the one at the bottom left or the one at the bottom right?"
        in first.text
    )
    assert session.send("top right").instruction == "make the cup at the top right red"
