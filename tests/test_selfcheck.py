"""The self-check of generative edits: the tiny random CLIP scores the tiny InstructPix2Pix's output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.models.prompts import SYSTEM_PROMPT
from agent.session.engine import Engine
from agent.session.session import Session
from agent.settings import Settings
from agent.wiring import self_check
from graphs.deps import GraphDeps, Previews
from graphs.graph import build_graph
from graphs.selfcheck import SEED_STRIDE, SelfCheck
from tests.fakes import MemoryImageStore, RecordingTool, ScriptedChatModel, ai, call, gradient
from tests.test_eval_clip import tiny_clip  # noqa: F401  (fixture)
from tools.clip import ClipSimilarities

pytest.importorskip("diffusers", reason="the gpu extra (diffusers, transformers, torch) is not installed")
pytestmark = pytest.mark.usefixtures("one_torch_thread")
PHOTO = (96, 64)


@pytest.fixture
def editor(model_dir: Path) -> Any:
    from tools.instruct_pix2pix import InstructPix2Pix

    return InstructPix2Pix(model_dir, allow_cpu=True, max_side=64)


def checked_session(tools: dict[str, Any], check: SelfCheck, *script: Any) -> Session:
    model = ScriptedChatModel(script=list(script))
    deps = GraphDeps(
        model, tools, MemoryImageStore(), SYSTEM_PROMPT, confirm="never", previews=Previews(every=0), self_check=check
    )
    return Engine(build_graph(InMemorySaver()), deps).open(gradient(PHOTO))


def edit(**args: Any) -> Any:
    return ai(call("instruct_pix2pix", **{"instruction": "turn the sky purple", "steps": 2, "seed": 5, **args}))


def test_no_attempt_passes_so_three_are_scored_the_best_kept_and_the_user_told(editor, tiny_clip):  # noqa: F811
    scores = ClipSimilarities(tiny_clip)
    check = SelfCheck(scores, min_image_similarity=-1.0, min_directional_similarity=1.01, retries=2)
    session = checked_session({editor.name: editor}, check, edit())
    reply = session.send("turn the sky purple")
    assert reply.action == "edit" and len(session.revisions) == 2
    record = session.head["check"]
    attempts = record["attempts"]
    assert [a["seed"] for a in attempts] == [5, 5 + SEED_STRIDE, 5 + 2 * SEED_STRIDE]
    assert [a["guidance_scale"] for a in attempts] == [7.5, 8.5, 9.5]  # s_T rises with each retry
    assert not record["passed"] and not any(a["passed"] for a in attempts)
    best = max(range(3), key=lambda i: (attempts[i]["directional_similarity"], attempts[i]["image_similarity"]))
    assert record["kept"] == best
    kept = attempts[best]
    assert session.head["params"]["seed"] == kept["seed"]
    assert session.head["params"]["guidance_scale"] == kept["guidance_scale"]
    assert "None of 3 attempts passed the self-check" in reply.text
    # The recipe replays: the kept params and seed render the kept image, and its scores are its own.
    params = editor.Params(**{k: v for k, v in session.head["params"].items() if k != "seed"})
    again = editor(gradient(PHOTO), params, seed=kept["seed"])
    assert np.array_equal(np.asarray(again), np.asarray(session.image()))
    image_score, direction = scores(gradient(PHOTO), session.image(), "turn the sky purple")
    assert (image_score, direction) == pytest.approx((kept["image_similarity"], kept["directional_similarity"]))


def test_a_passing_first_attempt_is_kept_with_no_retry(editor, tiny_clip):  # noqa: F811
    check = SelfCheck(ClipSimilarities(tiny_clip), min_image_similarity=-1.0, min_directional_similarity=-1.0)
    session = checked_session({editor.name: editor}, check, edit())
    reply = session.send("turn the sky purple")
    record = session.head["check"]
    assert record["passed"] and record["kept"] == 0 and len(record["attempts"]) == 1
    assert session.head["params"]["seed"] == 5 and "self-check" not in reply.text


def test_deterministic_tools_are_not_checked(tiny_clip):  # noqa: F811
    check = SelfCheck(ClipSimilarities(tiny_clip), min_directional_similarity=1.01)
    tool = RecordingTool()
    session = checked_session({"mirror": tool}, check, ai(call("mirror", instruction="mirror it")))
    session.send("mirror it")
    assert "check" not in session.head and len(tool.calls) == 1


def test_the_self_check_is_on_only_with_local_clip_weights(tmp_path, tiny_clip):  # noqa: F811
    assert self_check(Settings(data_dir=tmp_path)) is None
    assert self_check(Settings(data_dir=tmp_path, clip_path=str(tiny_clip), self_check=False)) is None
    made = self_check(Settings(data_dir=tmp_path, clip_path=str(tiny_clip), self_check_retries=4))
    assert made is not None and made.retries == 4 and isinstance(made.score, ClipSimilarities)
