"""Replay, forget and re-render with the diffusion editor: the tiny random-weight pipeline, on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.models.prompts import SYSTEM_PROMPT
from agent.session.engine import Engine
from agent.session.session import Session
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, ScriptedChatModel, ai, call, gradient
from tools.instruct_pix2pix import InstructPix2Pix, InstructPix2PixParams

pytest.importorskip("diffusers", reason="the gpu extra (diffusers, transformers, torch) is not installed")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def editor(model_dir: Path) -> InstructPix2Pix:
    return InstructPix2Pix(model_dir, allow_cpu=True, max_side=64)


def session_with(editor: InstructPix2Pix, *messages: Any) -> Session:
    deps = GraphDeps(
        ScriptedChatModel(script=list(messages)),
        {editor.name: editor},
        MemoryImageStore(),
        SYSTEM_PROMPT,
        confirm="never",
    )
    return Engine(build_graph(InMemorySaver()), deps).open(gradient((96, 64)))


def pix2pix(instruction: str, **args: Any) -> dict[str, Any]:
    return call("instruct_pix2pix", instruction=instruction, steps=2, **args)


def test_diffusion_chain_replays_bit_for_bit_and_forget_keeps_the_seed(editor):
    session = session_with(
        editor,
        ai(pix2pix("turn the sky purple", scheduler="ddim")),
        ai(pix2pix("add snow", guidance_scale=9.0)),
        ai(call("forget", edit="1")),
    )
    session.send("sky")
    session.send("snow")
    chained = session.head
    assert session.replay().matches and session.replay(chained["parent"]).matches
    forgot = session.send("forget the sky")
    assert forgot.action == "forget", forgot.text
    kept = session.head
    assert kept["params"] == chained["params"] and kept["parent"] == session.revisions[0]["id"]
    direct = InstructPix2PixParams(instruction="add snow", steps=2, guidance_scale=9.0)
    alone = editor(gradient((96, 64)), direct, seed=chained["params"]["seed"])
    assert session.image().tobytes() == alone.tobytes()  # the same edit, seed and scheduler on the original
    assert kept["image"] != chained["image"]


def test_rerender_runs_one_merged_edit_from_the_original(editor):
    session = session_with(editor, ai(pix2pix("turn the sky purple")), ai(pix2pix("add snow")), ai(call("rerender")))
    session.send("sky")
    session.send("snow")
    first = session.path()[1]
    reply = session.send("re-render from the original")
    assert reply.action == "rerender", reply.text
    merged = session.head
    assert merged["parent"] == session.revisions[0]["id"]
    assert merged["instruction"] == "turn the sky purple and add snow"
    assert merged["params"]["seed"] == first["params"]["seed"] and session.replay().matches


def test_eval_drift_of_a_generative_chain_is_a_number(editor):
    from agent.eval.drift import drift_of

    session = session_with(editor, ai(pix2pix("turn the sky purple")), ai(pix2pix("add snow")))
    session.send("sky")
    session.send("snow")
    state = session.state()
    drift = drift_of(session.engine.deps, state["revisions"], str(state["head"]), clip=None)
    assert drift["replay_matches"] is True and drift["rebuilt_by"] == "rerender"
    assert drift["l1_drift"] > 0  # one merged edit from the original is not the chained result
    print(f"tiny pipeline, 2 chained edits: drift L1 {drift['l1_drift']:.4f}")
