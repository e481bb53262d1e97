"""Preview, then commit, and step pictures, on the tiny random-weight InstructPix2Pix (Session API and graph).

The preview is rendered by the real pipeline at a smaller size with fewer steps and the seed the
committed edit then uses; step pictures come from the real latents through the linear approximation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from PIL import Image

from agent.models.prompts import SYSTEM_PROMPT
from agent.session.engine import Engine
from agent.session.session import Session
from graphs.deps import GraphDeps, Previews
from graphs.graph import build_graph
from graphs.storage.store import get_image
from tests.fakes import CostlyTool, MemoryImageStore, ScriptedChatModel, ai, call, gradient

pytest.importorskip("diffusers", reason="the gpu extra (diffusers, transformers, torch) is not installed")
pytestmark = pytest.mark.usefixtures("one_torch_thread")
SIDE, PREVIEW_SIDE = 128, 64  # full and preview working sizes: 16x16 and 8x8 latents
PHOTO = (150, 97)


@pytest.fixture
def editor(model_dir: Path) -> Any:
    from tools.instruct_pix2pix import InstructPix2Pix

    return InstructPix2Pix(model_dir, allow_cpu=True, max_side=SIDE, preview_steps=2, preview_side=PREVIEW_SIDE)


@pytest.fixture
def steps_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, tuple[int, int], int]]:
    """(steps, working size, seed) of every pipeline call."""
    from diffusers import StableDiffusionInstructPix2PixPipeline as Pipeline

    seen: list[tuple[int, tuple[int, int], int]] = []
    original = Pipeline.__call__

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((kwargs["num_inference_steps"], kwargs["image"].size, kwargs["generator"].initial_seed()))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "__call__", spy)
    return seen


def open_session(tools: dict[str, Any], *script: Any, confirm: str = "auto", every: int = 0) -> Session:
    model = ScriptedChatModel(script=list(script))
    previews = Previews(every=every)
    deps = GraphDeps(model, tools, MemoryImageStore(), SYSTEM_PROMPT, confirm=confirm, previews=previews)  # type: ignore[arg-type]
    return Engine(build_graph(InMemorySaver()), deps).open(gradient(PHOTO))


def pix2pix(**args: Any) -> Any:
    return ai(call("instruct_pix2pix", **{"instruction": "turn the sky purple", **args}))


def yes() -> Any:
    return ai(call("confirm_pending", approve=True))


def test_a_proposal_comes_with_a_cheap_preview_and_yes_commits_the_same_seed(editor, steps_seen):
    session = open_session({editor.name: editor}, pix2pix(steps=5), yes())
    events: list[dict[str, Any]] = []
    proposed = session.send("turn the sky purple", on_event=events.append)
    assert proposed.action == "confirm" and proposed.confirmation is not None
    preview = proposed.confirmation["preview"]
    (shown,) = [e["preview"] for e in events if e["kind"] == "preview"]
    assert shown == preview and preview["image"] in session.engine.deps.store
    assert len(session.revisions) == 1  # the preview is not a revision
    assert session.state()["preview"] == preview  # a key in state, never pixels
    seed = preview["seeds"][proposed.confirmation["edits"][0]["id"]]
    assert proposed.confirmation["edits"][0]["args"]["seed"] == seed  # pinned for the commit
    picture = session.preview()
    assert picture is not None and picture.size == (preview["width"], preview["height"]) == (64, 41)
    assert steps_seen == [(2, (64, 64), seed)]  # fewer steps at the preview's working size
    done = session.send("yes")
    assert done.action == "edit" and done.error is None and len(session.revisions) == 2
    assert session.head["params"]["seed"] == seed and session.head["params"]["steps"] == 5
    assert steps_seen[1] == (5, (128, 64), seed)  # full quality, the same noise
    assert session.image().size == PHOTO and session.preview() is None and session.state()["preview"] is None


def test_the_async_session_gives_the_preview_too(editor):
    import asyncio

    from agent.session.async_session import AsyncSession

    session = AsyncSession(open_session({editor.name: editor}, pix2pix(steps=2)))
    picture = asyncio.run(session.send("turn the sky purple")) and asyncio.run(session.preview())
    assert picture is not None and picture.size == (64, 41)


def test_no_preview_for_a_costly_tool_that_cannot_make_one(editor):
    session = open_session({"costly_mirror": CostlyTool()}, ai(call("costly_mirror", instruction="x")), yes())
    proposed = session.send("mirror it")
    assert proposed.action == "confirm" and proposed.confirmation is not None
    assert "preview" not in proposed.confirmation and session.preview() is None
    assert session.send("yes").action == "edit"


def test_previews_off_propose_without_one(editor, steps_seen):
    model = ScriptedChatModel(script=[pix2pix(steps=2)])
    deps = GraphDeps(model, {editor.name: editor}, MemoryImageStore(), SYSTEM_PROMPT, previews=Previews(confirm=False))
    session = Engine(build_graph(InMemorySaver()), deps).open(gradient(PHOTO))
    proposed = session.send("turn the sky purple")
    assert proposed.confirmation is not None and "preview" not in proposed.confirmation and steps_seen == []


def test_step_pictures_ride_on_progress_events_every_k_steps(editor):
    session = open_session({editor.name: editor}, pix2pix(steps=5, seed=3), confirm="never", every=2)
    events: list[dict[str, Any]] = []
    reply = session.send("turn the sky purple", on_event=events.append)
    assert reply.action == "edit" and len(session.revisions) == 2
    progress = [e for e in events if e["kind"] == "progress"]
    assert [e["step"] for e in progress] == [0, 1, 2, 3, 4, 5]
    pictured = [e for e in progress if "image" in e]
    assert [e["step"] for e in pictured] == [2, 4]  # not the last: the revision itself shows that
    store = session.engine.deps.store
    frames = [get_image(store, e["image"]) for e in pictured]
    assert {f.size for f in frames} == {(16, 8)}  # the latents' size: no VAE decode
    assert frames[0].tobytes() != frames[1].tobytes()  # the picture changes as the image forms
    assert all(e["image"] != r["image"] for e in pictured for r in session.revisions)


def test_latent_preview_maps_channels_through_the_sd_factors():
    import torch

    from tools.latent_preview import SD15_LATENT_RGB, latent_preview

    latents = torch.zeros(1, 4, 2, 3)
    latents[0, 3] = 1.0  # the fourth channel alone: (1 + factors[3]) / 2 per colour
    picture = latent_preview(latents)
    expected = [round((1 + f) / 2 * 255) for f in SD15_LATENT_RGB[3]]
    assert picture.size == (3, 2) and list(picture.getpixel((0, 0))) == expected  # type: ignore[arg-type]
    assert isinstance(picture, Image.Image)


class BrokenPreview(CostlyTool):
    """A costly mirror whose preview fails: the proposal must still be made, without one."""

    def preview(self, image: Image.Image, params: Any, *, seed: int, progress: Any = None) -> Image.Image:
        raise RuntimeError("the preview broke")


def test_a_failing_preview_still_proposes_the_edit():
    tool = BrokenPreview()
    session = open_session({"costly_mirror": tool}, ai(call("costly_mirror", instruction="x")), yes())
    proposed = session.send("mirror it")
    assert proposed.action == "confirm" and proposed.confirmation is not None
    assert "preview" not in proposed.confirmation
    assert session.send("yes").action == "edit" and len(session.revisions) == 2


def test_an_editor_without_weights_proposes_without_a_preview_and_logs_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No weights here, the editor offered all the same (offer_unready_tools, as eval does): the preview is
    skipped with one warning (no traceback), and the proposal still comes. By default it is never offered.
    """
    from agent.settings import Settings
    from agent.wiring import create_engine

    engine = create_engine(Settings(data_dir=tmp_path, confirm="always", offer_unready_tools=True))
    try:
        session = engine.open(gradient(PHOTO))
        with caplog.at_level("WARNING", logger="graphs.nodes.preview"):
            reply = session.send("turn it into a watercolor painting")
        assert reply.action == "confirm" and reply.confirmation is not None
        assert "preview" not in reply.confirmation
        warnings = [r for r in caplog.records if r.name == "graphs.nodes.preview"]
        assert len(warnings) == 1 and warnings[0].exc_info is None
        assert "no preview of instruct_pix2pix" in warnings[0].getMessage()
    finally:
        engine.close()
