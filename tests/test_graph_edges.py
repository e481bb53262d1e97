"""The drawn graph is the real one: every transition the eval sets take through the graph is drawn.

Each node passes its possible successors to add_conditional_edges (graphs.graph.TARGETS), so LangGraph
and Studio draw those instead of every node to every node. This runs every eval-set dialogue through
the real graph (embedded policy, the default tools) and records the nodes each turn ran.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from agent.eval.run import load_eval_files
from agent.samples import landscape
from agent.settings import Settings
from agent.wiring import create_engine
from graphs.graph import TARGETS, build_graph

EVAL_DIR = Path(__file__).resolve().parents[1] / "eval_sets"
START, END = "__start__", "__end__"


def drawn_edges() -> set[tuple[str, str]]:
    return {(edge.source, edge.target) for edge in build_graph().get_graph().edges}


def taken_edges(tmp_path: Path) -> set[tuple[str, str]]:
    """(node, next node) for every step of every eval-set turn, START and END included."""
    taken: set[tuple[str, str]] = set()
    with create_engine(Settings(data_dir=tmp_path)) as engine:
        for _, dialogue in load_eval_files(sorted(EVAL_DIR.glob("*.jsonl"))):
            session = engine.open(dialogue.image or landscape())
            previous = START
            for turn in dialogue.turns:
                nodes: list[str] = []

                def on_event(event: dict[str, Any], nodes: list[str] = nodes) -> None:
                    if event["kind"] == "step":
                        nodes.append(event["node"])

                reply = session.send(turn.user, on_event=on_event)
                if previous == "confirm" and nodes[:1] == ["confirm"]:
                    nodes = nodes[1:]  # the interrupted confirm finished on this resume: same visit
                waiting = reply.action == "confirm"  # the turn stopped inside confirm, at its interrupt
                path = [previous, *nodes, "confirm" if waiting else END]
                taken |= set(itertools.pairwise(path))
                previous = "confirm" if waiting else START
    return taken


def test_every_transition_the_eval_sets_take_is_drawn(tmp_path, capsys):
    drawn, taken = drawn_edges(), taken_edges(tmp_path)
    assert taken - drawn == set(), "taken but not drawn"
    with capsys.disabled():
        print(f"\ngraph: {len(drawn)} edges drawn, {len(taken)} taken by the eval sets")
        for source, target in sorted(drawn - taken):
            print(f"  drawn, reached only through multi-call messages or a detector: {source} -> {target}")


def test_each_node_draws_exactly_its_targets():
    drawn = drawn_edges()
    for node, targets in TARGETS.items():
        assert {target for source, target in drawn if source == node} == set(targets), node
    assert {target for source, target in drawn if source == "preview"} == {"confirm"}
    # reply is reached only from a checkpoint an older version saved before it: not drawn
    assert not {edge for edge in drawn if "reply" in edge}
