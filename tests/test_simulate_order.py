"""The simulated user's order: two edits that give the same pixels in either order may land in either.

``cases.commutes`` claims it for one pointwise edit and one that only moves or selects pixels; this
renders both orders with the real tools and compares every pixel, and shows why a contrast change
or a resampled rotation is left out.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from agent.eval.simulate.cases import GoalEdit, commutes
from agent.eval.simulate.user import Edit, goal_progress, proposal_right
from tools.registry import load_registry

POINTWISE = [
    ("adjust_tone", {"brightness": 1.3}),
    ("adjust_tone", {"saturation": 0.4, "warmth": 0.5}),
    ("grayscale", {}),
    ("sepia", {"strength": 0.8}),
    ("invert", {}),
    ("tint", {"color": "blue", "strength": 0.35}),
    ("posterize", {"bits": 3}),
]
MOVES = [
    ("flip", {"direction": "horizontal"}),
    ("flip", {"direction": "vertical"}),
    ("crop", {"right": 0.5}),
    ("crop", {"top": 0.25, "left": 0.1}),
    ("rotate", {"degrees": -90}),
    ("rotate", {"degrees": 180}),
    ("rotate", {"degrees": 270}),
]


def render(image: Image.Image, *edits: tuple[str, dict]) -> np.ndarray:
    tools = load_registry(plugins=False)
    for name, params in edits:
        tool = tools[name]
        image = tool.apply(image, tool.Params.model_validate(params))
    return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    rng = np.random.default_rng(7)  # noise over a left-to-right ramp: the halves differ in mean
    ramp = np.linspace(0, 180, 53)[None, :, None]
    return Image.fromarray((ramp + rng.integers(0, 76, (37, 53, 3))).astype(np.uint8))


@pytest.mark.parametrize("changes", POINTWISE, ids=lambda e: e[0])
@pytest.mark.parametrize("moves", MOVES, ids=lambda e: f"{e[0]}-{'-'.join(map(str, e[1].values()))}")
def test_a_pointwise_edit_and_a_move_give_the_same_pixels_in_either_order(photo, changes, moves):
    assert commutes(*changes, *moves) and commutes(*moves, *changes)
    assert np.array_equal(render(photo, changes, moves), render(photo, moves, changes))


@pytest.mark.parametrize(
    ("first", "second"),
    [(("adjust_tone", {"contrast": 1.5}), ("crop", {"right": 0.5})),  # the contrast pivots on the mean
     (("grayscale", {}), ("rotate", {"degrees": 30})),  # a resampled rotation
     (("crop", {"right": 0.5}), ("rotate", {"degrees": -90})),  # two moves
     (("grayscale", {}), ("tint", {"color": "blue"}))],  # two pointwise edits
)  # fmt: skip
def test_pairs_left_out_are_not_claimed_and_the_first_differs_in_pixels(photo, first, second):
    assert not commutes(*first, *second)
    if first[0] == "adjust_tone":
        assert not np.array_equal(render(photo, first, second), render(photo, second, first))


def goal(*edits: tuple[str, dict]) -> list[GoalEdit]:
    return [GoalEdit(tool=t, instruction=f"{t} it", params=p) for t, p in edits]


def made(*edits: tuple[str, dict]) -> tuple[Edit, ...]:
    return tuple(Edit(t, p, f"{t} it") for t, p in edits)


def test_the_user_takes_an_order_that_gives_the_same_picture_and_no_other():
    wanted = goal(("rotate", {"degrees": -90}), ("grayscale", {}), ("crop", {"right": 0.5}))
    assert goal_progress(wanted, made(("grayscale", {}), ("rotate", {"degrees": -90}))) == (2, 0)
    assert goal_progress(wanted, made(("rotate", {"degrees": -90}), ("crop", {"right": 0.5}))) == (2, 0)
    # the crop before the rotation selects another part of the picture: not the goal
    assert goal_progress(wanted, made(("crop", {"right": 0.5}), ("rotate", {"degrees": -90}))) == (0, 2)
    path = made(("grayscale", {}))
    assert proposal_right(wanted, path, made(("rotate", {"degrees": -90}), ("crop", {"right": 0.5})))
    assert not proposal_right(wanted, path, made(("crop", {"right": 0.5})))
