"""The OWLv2 detector through transformers' real classes, on a tiny random-weight model built offline.

The tiny model's box head is zeroed, so each of its 4x4 patches predicts its own grid cell: the
boxes it must report for an 80x48 image are known, which pins the scaling by the padded square's
side, the clipping to the image and the dropping of cells that lie wholly in the padding.
"""

from __future__ import annotations

import re

import pytest
from PIL import Image

from agent.settings import Settings
from agent.wiring import build_detector
from tests.test_detect_questions import Generative, policy_session
from tools.errors import ToolUnavailable

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def owlv2_path(tmp_path_factory):
    from tests.tiny_owlv2 import save_tiny_owlv2

    return save_tiny_owlv2(tmp_path_factory.mktemp("owlv2"))


def detector(path, threshold=0.0):
    return build_detector(Settings(detector_path=str(path), detector_threshold=threshold))


def test_boxes_are_in_image_pixels(owlv2_path):
    found = detector(owlv2_path).detect(Image.new("RGB", (80, 48), (90, 120, 30)), ["cat", "dog"])
    cells = sorted(tuple(round(v) for v in d.box) for d in found)
    # Padded to 80x80 the grid cells are 20 px with centres at 20, 40, 60, 80; rows 3 and 4 lie in the padding.
    assert cells == [(x0, y0, min(x0 + 20, 80), min(y0 + 20, 48)) for x0 in (10, 30, 50, 70) for y0 in (10, 30)]
    assert {d.label for d in found} <= {"cat", "dog"}
    assert all(0.26 < d.score < 0.74 for d in found)


def test_threshold_and_empty_labels(owlv2_path):
    image = Image.new("RGB", (64, 64))
    scores = [d.score for d in detector(owlv2_path).detect(image, ["cat"])]
    assert len(scores) == 16
    cut = sorted(scores)[8]
    assert len(detector(owlv2_path, threshold=cut).detect(image, ["cat"])) == sum(s > cut for s in scores)
    assert detector(owlv2_path).detect(image, []) == []


def test_a_conversation_with_the_real_detector(owlv2_path):
    """Every patch of the tiny model finds 'a cat'; a threshold under the second best score leaves two."""
    from tests.fakes import gradient

    scores = sorted((d.score for d in detector(owlv2_path).detect(gradient((64, 48)), ["cat"])), reverse=True)
    tool = Generative()
    session = policy_session(detector(owlv2_path, threshold=(scores[1] + scores[2]) / 2), tool)
    first = session.send("change the cat to a tiger")
    assert first.action == "clarify" and not tool.calls
    named = re.fullmatch(r"I can see more than one cat\. Which do you mean: the cat (.+) or the one (.+)\?", first.text)
    assert named is not None, first.text
    second = session.send(f"the one {named.group(2)}")
    assert second.instruction == f"change the cat {named.group(2)} to a tiger" and len(tool.calls) == 1


def test_unset_is_no_detector_and_a_wrong_path_fails_at_startup(tmp_path):
    assert build_detector(Settings()) is None
    with pytest.raises(ToolUnavailable, match=rf"DIALOGPAINT_DETECTOR_PATH: {tmp_path} has no config.json"):
        build_detector(Settings(detector_path=str(tmp_path)))
