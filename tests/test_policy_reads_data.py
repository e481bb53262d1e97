"""The embedded policy reads facts, not the graph's sentences: reword every sentence and no decision changes."""

from __future__ import annotations

import sys
from pathlib import Path

from langchain_core.messages import SystemMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.eval.dataset import load_eval_file, run_all
from agent.models.prompts import SYSTEM_PROMPT
from agent.policy.local import LocalPolicy
from agent.session.engine import Engine
from graphs import outcomes
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from graphs.nodes import actions, decide
from tests.fakes import MemoryImageStore, gradient
from tools import base
from tools.registry import load_registry

EVAL_DIR = Path(__file__).resolve().parents[1] / "eval_sets"
MARK = "(reworded)"


def reworded(text: str) -> str:
    """A sentence said differently: its words in reverse order, marked."""
    return f"{MARK} " + " ".join(reversed(text.split())) if text else text


def decisions() -> list[tuple[object, ...]]:
    """Run both eval sets through the real graph with the local policy: each turn's decision."""
    dialogues = [d for path in sorted(EVAL_DIR.glob("*.jsonl")) for d in load_eval_file(path)]
    # offer_unready: the generative turns are decisions too (as `dialogpaint eval` scores them), though
    # instruct_pix2pix has no weights here, so its edits fail.
    tools = load_registry(plugins=False)
    deps = GraphDeps(LocalPolicy(), tools, MemoryImageStore(), SYSTEM_PROMPT, seed=0, offer_unready=True)
    engine = Engine(build_graph(InMemorySaver()), deps)
    results = run_all(dialogues, lambda d: engine.open(gradient()))
    return [
        (r.dialogue, r.index, r.predicted, r.reply.action, r.reply.instruction, r.reply.tool, r.reply.undo_steps,
         r.reply.actions, r.reply.error is not None, r.reply.confirmation is not None)
        for r in results
    ]  # fmt: skip


def reword_every_sentence(monkeypatch) -> list[str]:
    """Reword what the graph writes in words: tool results (for the model and for the user), the system
    prompt with its image history and pending question, the confirmation question, tool descriptions.

    Returns the list the system prompts the model is sent are recorded in.
    """
    original_tool_message = outcomes.tool_message

    def tool_message(call_id, content, kind, say="", **extra):
        return original_tool_message(call_id, reworded(content), kind, reworded(say), **extra)

    for module in list(sys.modules.values()):
        if getattr(module, "tool_message", None) is original_tool_message:
            monkeypatch.setattr(module, "tool_message", tool_message)
    sent: list[str] = []
    original_system_message = decide.system_message

    def system_message(deps, state, missing=None):
        sent.append(reworded(str(original_system_message(deps, state, missing).content)))
        return SystemMessage(sent[-1])

    monkeypatch.setattr(decide, "system_message", system_message)
    original_question = actions.confirmation_question
    monkeypatch.setattr(actions, "confirmation_question", lambda calls: reworded(original_question(calls)))
    monkeypatch.setattr(base, "GENERATIVE_NOTE", "Takes any instruction whatsoever.")
    return sent


def test_rewording_every_sentence_changes_no_decision(monkeypatch):
    before = decisions()
    sent = reword_every_sentence(monkeypatch)
    after = decisions()
    assert sent and all(p.startswith(MARK) for p in sent)  # the rewording reached the model
    kinds = {kind for turn in after for kind in turn[7]}  # type: ignore[attr-defined]
    assert {"edit", "clarify", "confirm", "undo", "redo", "declined", "failed"} <= kinds  # every path was taken
    assert sum(turn[5] == "instruct_pix2pix" for turn in after) >= 3  # the generative fallback was chosen
    assert [t for t in after if t not in before] == []
    assert after == before
