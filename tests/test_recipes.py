"""Revisions as recipes: selective forget, re-render and replay, on the real CPU tools and a scripted model."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image, ImageOps

from tests.fakes import CostlyTool, RecordingTool, ai, call, gradient
from tools.base import ToolCapabilities
from tools.colour import Sepia
from tools.filters import Blur
from tools.geometry import Flip
from tools.registry import BUILTIN_TOOLS
from tools.tone import AdjustTone

CPU_TOOLS = [cls for cls in BUILTIN_TOOLS if cls().capabilities.device == "cpu"]
# Arguments away from each tool's defaults, so a replay that dropped the recorded params would differ.
ARGS: dict[str, dict[str, Any]] = {
    "adjust_tone": {"brightness": 1.4, "warmth": 0.3}, "sepia": {"strength": 0.7}, "tint": {"color": "teal"},
    "posterize": {"bits": 3}, "blur": {"radius": 3}, "sharpen": {"amount": 2.5}, "vignette": {"strength": 0.8},
    "vintage": {"strength": 0.9}, "rotate": {"degrees": 30}, "flip": {"direction": "vertical"},
    "crop": {"left": 0.1, "top": 0.2}, "resize": {"scale": 0.5},
}  # fmt: skip


def pixels(image: Image.Image) -> bytes:
    return image.convert("RGB").tobytes()


def three_edits(make_session: Any, *after: Any, **kwargs: Any) -> Any:
    """A session with sepia, blur and a horizontal flip applied, in that order."""
    tools = {t.name: t for t in (Sepia(), Blur(), Flip(), AdjustTone())}
    script = [
        ai(call("sepia", instruction="apply a sepia tone", strength=0.8)),
        ai(call("blur", instruction="blur the image", radius=2)),
        ai(call("flip", instruction="mirror the image", direction="horizontal")),
        *after,
    ]
    session = make_session(script, tools={**tools, **kwargs.pop("tools", {})}, **kwargs)
    for text in ("sepia", "blur", "flip"):
        session.send(text)
    return session


@pytest.mark.parametrize("cls", CPU_TOOLS, ids=lambda c: c.name)
def test_replay_is_bit_exact_for_every_cpu_builtin(make_session, cls):
    tool = cls()
    args = ARGS.get(tool.name, {})
    script = [ai(call(tool.name, instruction=f"apply {tool.name}", **args)), ai(call("sepia", instruction="sepia"))]
    session = make_session(script, tools={tool.name: tool, "sepia": Sepia()})
    session.send("first")
    session.send("second")
    head = session.head
    assert head["image"] != session.revisions[0]["image"]  # the chain changed the image
    replayed = session.replay()
    assert replayed.matches and replayed.steps == 2 and replayed.key == head["image"]
    assert pixels(replayed.image) == pixels(session.image())
    middle = session.replay(head["parent"])
    assert middle.matches and middle.steps == 1


def test_forget_by_words_reapplies_the_rest_from_its_parent(make_session):
    session = three_edits(make_session, ai(call("forget", edit="sepia")))
    before = session.state()
    old_head, old_ids = before["head"], [r["id"] for r in before["revisions"]]
    reply = session.send("forget the sepia but keep the rest")
    assert reply.action == "forget" and "Forgot 'apply a sepia tone'" in reply.text
    path = session.path()
    assert [r["instruction"] for r in path] == [None, "blur the image", "mirror the image"]
    assert [r["id"] for r in session.revisions][: len(old_ids)] == old_ids  # nothing deleted
    old = {r["instruction"]: r for r in before["revisions"]}
    for revision in path[1:]:  # recorded params and seeds, re-run as new revisions
        assert revision["id"] not in old_ids
        assert revision["params"] == old[revision["instruction"]]["params"]
    expected = ImageOps.mirror(Blur().apply(gradient(), Blur.Params(radius=2)))
    assert pixels(session.image()) == pixels(expected)
    assert session.redo().action == "redo" and session.head["id"] == old_head  # the old branch is back
    session.undo(3)
    assert session.head["parent"] is None


def test_forget_by_position_and_the_last_edit(make_session):
    session = three_edits(make_session, ai(call("forget", edit="2")), ai(call("forget", edit="2")))
    session.send("drop the second edit")
    assert [r["instruction"] for r in session.path()] == [None, "apply a sepia tone", "mirror the image"]
    reply = session.send("drop the second edit")  # now the last one: nothing after it to re-apply
    assert reply.action == "forget"
    assert [r["instruction"] for r in session.path()] == [None, "apply a sepia tone"]


def test_forget_that_cannot_run_changes_nothing(make_session):
    session = three_edits(
        make_session, ai(call("forget", edit="vignette")), ai(call("forget", edit="9")), ai(text="ok")
    )
    count, head = len(session.revisions), session.head["id"]
    missing = session.send("forget the vignette")  # a reference that matches nothing: a question, not a failure
    assert missing.action == "clarify" and not missing.error
    assert "None matches 'vignette'" in missing.text and "1. apply a sepia tone" in missing.text
    beyond = session.send("forget the ninth edit")
    assert "there is no edit 9: 3 edit(s) are applied" in beyond.text
    assert len(session.revisions) == count and session.head["id"] == head


def test_forget_with_bad_arguments_is_sent_back_to_the_model(make_session):
    session = three_edits(make_session, ai(call("forget", edit="")), ai(call("forget", edit="1")))
    session.send("forget the sepia")
    seen = session.engine.deps.model.seen[-1]
    assert any("invalid arguments for forget" in str(m.content) for m in seen)  # the repair round named it
    assert [r["instruction"] for r in session.path()] == [None, "blur the image", "mirror the image"]


def test_forget_of_a_costly_edit_is_confirmed_first(make_session):
    costly = CostlyTool()
    script = [
        ai(call("sepia", instruction="apply a sepia tone")),
        ai(call("costly_mirror", instruction="mirror it")),
        ai(call("confirm_pending", approve=True)),
        ai(call("forget", edit="mirror")),
        ai(call("forget", edit="sepia")),
        ai(call("confirm_pending", approve=True)),
    ]
    session = make_session(script, tools={"costly_mirror": costly, "sepia": Sepia()}, confirm="auto")
    session.send("sepia")
    session.send("mirror it")
    session.send("yes")  # the costly edit itself was proposed first
    assert len(costly.calls) == 1
    forget_last = session.send("forget the mirror")  # re-runs nothing: no question
    assert forget_last.action == "forget" and len(costly.calls) == 1
    session.redo()
    proposal = session.send("forget the sepia")  # re-runs the costly mirror: asked first
    assert proposal.action == "confirm" and "forget 'apply a sepia tone'" in proposal.text
    assert "re-apply 1 later edit(s) (mirror it)" in proposal.text and len(costly.calls) == 1
    done = session.send("yes")
    assert done.action == "forget" and len(costly.calls) == 2
    assert costly.calls[1][2] == costly.calls[0][2]  # the recorded seed
    assert [r["instruction"] for r in session.path()] == [None, "mirror it"]


class Painter(RecordingTool):
    """A generative fake: its output depends on the instruction and the seed, like a diffusion editor."""

    name = "painter"
    capabilities = ToolCapabilities(generative=True, deterministic=False)

    def __call__(self, image: Image.Image, params: Any, *, seed: int, progress: Any = None) -> Image.Image:
        self.calls.append((image.size, params.model_dump(), seed))
        shade = (seed + len(self.calls)) % 200
        return Image.blend(image, Image.new("RGB", image.size, (shade, 40, 90)), 0.3)


def test_rerender_merges_generative_edits_into_one_from_the_original(make_session):
    painter = Painter()
    script = [
        ai(call("painter", instruction="turn the sky purple")),
        ai(call("sepia", instruction="apply a sepia tone")),
        ai(call("painter", instruction="add snow")),
        ai(call("rerender")),
    ]
    session = make_session(script, tools={"painter": painter, "sepia": Sepia()})
    for text in ("sky", "sepia", "snow"):
        session.send(text)
    chained = session.head["id"]
    first_seed = session.path()[1]["params"]["seed"]
    reply = session.send("re-render from the original")
    assert reply.action == "rerender"
    path = session.path()
    assert [r["instruction"] for r in path] == [None, "turn the sky purple and add snow", "apply a sepia tone"]
    assert path[1]["parent"] == session.revisions[0]["id"] and path[1]["params"]["seed"] == first_seed
    assert painter.calls[-1][0] == gradient().size and len(painter.calls) == 3
    assert session.redo().head == chained


def test_rerender_needs_two_generative_edits(make_session):
    session = three_edits(make_session, ai(call("rerender")), tools={"painter": Painter()})
    reply = session.send("re-render from the original")
    assert "nothing to re-render: 0 generative edit(s)" in reply.text and len(session.path()) == 4


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("forget the sepia but keep the rest", ("forget", {"edit": "sepia"})),
        ("drop the second edit", ("forget", {"edit": "2"})),
        ("undo the blur only", ("forget", {"edit": "blur"})),
        ("Could you re-render from the original?", ("rerender", {})),
        ("undo two steps", None),
        ("undo the last edit", None),
        ("forget what I said about the sky", None),
        ("remove the dog", None),
    ],
)
def test_the_embedded_policy_reads_recipe_requests(said, expected):
    from agent.policy.recipes import recipe_request
    from agent.policy.text import normalize

    assert recipe_request(normalize(said)) == expected


def test_forget_and_rerender_through_the_embedded_policy(tmp_path):
    from agent.settings import Settings
    from agent.wiring import create_engine

    with create_engine(Settings(data_dir=tmp_path, confirm="never")) as engine:
        session = engine.open(gradient())
        for text in ("apply a sepia tone", "blur it", "make it brighter"):
            assert session.send(text).action == "edit"
        reply = session.send("forget the sepia but keep the rest")
        assert reply.action == "forget", reply.text
        assert [r["tool"] for r in session.path()] == [None, "blur", "adjust_tone"]
        assert session.send("drop the first edit").action == "forget"
        assert [r["tool"] for r in session.path()] == [None, "adjust_tone"]
        assert session.replay().matches
        assert "nothing to re-render" in session.send("re-render from the original").text
