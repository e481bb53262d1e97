"""Per-turn orchestration overhead vs a bare LangGraph graph as a session grows, checkpoint size, CLI/policy timings.

One session of TURNS edit turns (fake model, mirror tool) and TURNS turns of a bare three-node graph
(decide, edit, reply: the super-steps an edit turn took before issue 29) with the same message
traffic on the same SQLite checkpointer, in one process. The bare graph keeps its state bounded the
LangGraph way (RemoveMessage of the turns past as many as ours holds at most), so both are compared at
constant cost. The sessions take turns (one turn each, the order alternating), so the load of other
jobs on a shared machine falls on both alike. Reports CPU ms per turn (``time.process_time``, all
threads) at turns 10, 20, 100 and 1,000 as the mean of the 8 turns ending there, the ratio of turn
1,000 to turn 20 (target <= 1.3x), and the overhead of ours over the bare graph, wall and CPU medians
(target <= 1.2x). An edit turn now takes two super-steps (the edit's step closes the turn:
graphs.nodes.closing), so the overhead over a bare two-step graph is printed too, for what is left.
Prints numbers; asserts nothing. Run: python bench/bench_orchestration.py [TURNS]
"""

from __future__ import annotations

import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, RemoveMessage, ToolMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph, add_messages

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.models.prompts import SYSTEM_PROMPT  # noqa: E402
from agent.policy.local import LocalPolicy  # noqa: E402
from agent.session.engine import Engine  # noqa: E402
from bench.bench_storage import cpu_line  # noqa: E402
from graphs.deps import GraphDeps, TurnLimits  # noqa: E402
from graphs.graph import build_graph  # noqa: E402
from graphs.specs import tool_schemas  # noqa: E402
from graphs.storage.checkpoint import sqlite_checkpointer  # noqa: E402
from graphs.storage.store import FileImageStore  # noqa: E402
from tests.fakes import RecordingTool, ScriptedChatModel, ai, call, gradient  # noqa: E402
from tools.registry import load_registry  # noqa: E402

TURNS = 1000
# The bare graph holds as many turns as ours holds at most (graphs.window), 4 messages each.
BARE_WINDOW = (TurnLimits.window_turns + TurnLimits.window_turns // 2) * 4


class UnrecordedModel(ScriptedChatModel):
    """The tests' scripted model without the records tests read (every prompt, every tool list).

    A served model's client keeps neither; kept, 1,000 turns of prompts (300,000 objects) made each of
    Python's full garbage collections slower, up to 0.2 s inside one timed turn near turn 1,000.
    """

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, BaseMessage]:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        result = super()._generate(messages, *args, **kwargs)
        self.seen.clear()
        return result


class Bare(TypedDict):
    messages: Annotated[list[Any], add_messages]


def bare_graph(saver: SqliteSaver) -> Any:
    """decide -> edit -> reply: the same three super-steps an edit turn takes, doing nothing."""
    builder = StateGraph(Bare)
    # The same message traffic per turn as an edit turn (call, tool result, reply), so state grows alike.
    builder.add_node("decide", lambda s: {"messages": [AIMessage("", tool_calls=[call("mirror", instruction="x")])]})
    builder.add_node(
        "edit",
        lambda s: {
            "messages": [
                ToolMessage("Applied mirror as revision r", tool_call_id=s["messages"][-1].tool_calls[0]["id"])
            ]
        },
    )
    builder.add_node("reply", bare_reply)
    builder.add_edge(START, "decide")
    builder.add_edge("decide", "edit")
    builder.add_edge("edit", "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=saver)


def bare_two_steps(saver: SqliteSaver) -> Any:
    """decide -> edit, the edit's step writing the closing message too: as many super-steps as ours."""
    builder = StateGraph(Bare)
    builder.add_node("decide", lambda s: {"messages": [AIMessage("", tool_calls=[call("mirror", instruction="x")])]})
    builder.add_node("edit", bare_edit_and_reply)
    builder.add_edge(START, "decide")
    builder.add_edge("decide", "edit")
    builder.add_edge("edit", END)
    return builder.compile(checkpointer=saver)


def bare_edit_and_reply(state: Bare) -> dict[str, Any]:
    """The tool result, then what bare_reply writes, in one update."""
    answer = ToolMessage("Applied mirror as revision r", tool_call_id=state["messages"][-1].tool_calls[0]["id"])
    closing = bare_reply({"messages": [*state["messages"], answer]})
    return {"messages": [answer, *closing["messages"]]}


def bare_reply(state: Bare) -> dict[str, Any]:
    """The closing message, and the oldest turn dropped once more than BARE_WINDOW messages are held."""
    old = state["messages"][:-BARE_WINDOW] if len(state["messages"]) > BARE_WINDOW else []
    return {"messages": [*(RemoveMessage(id=m.id) for m in old), AIMessage("Done: x.")]}


def timed(sessions: list[Callable[[int], Any]], turns: int) -> list[tuple[list[float], list[float]]]:
    """Wall and CPU seconds of each of ``turns`` calls of each ``session(i)``, the sessions taking turns."""
    times: list[tuple[list[float], list[float]]] = [([], []) for _ in sessions]
    for i in range(turns):
        order = list(enumerate(sessions))
        for n, turn in order if i % 2 else order[::-1]:
            start, start_cpu = time.perf_counter(), time.process_time()
            turn(i)
            times[n][0].append(time.perf_counter() - start)
            times[n][1].append(time.process_time() - start_cpu)
    return times


def checkpoint_bytes(conn: sqlite3.Connection, thread: str) -> int:
    row = conn.execute(
        "SELECT length(checkpoint) + coalesce(length(metadata), 0) FROM checkpoints "
        "WHERE thread_id = ? ORDER BY checkpoint_id DESC LIMIT 1",
        (thread,),
    ).fetchone()
    return int(row[0])


def main() -> None:
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else TURNS
    tmp = Path(tempfile.mkdtemp())
    saver = sqlite_checkpointer(tmp / "bench.sqlite")  # the checkpointer dialogpaint runs on, for both graphs
    conn = saver.conn

    bare, two = bare_graph(saver), bare_two_steps(saver)
    tool = RecordingTool()
    model = UnrecordedModel(script=[ai(call("mirror", instruction=f"edit {i}")) for i in range(turns)])
    deps = GraphDeps(model, {"mirror": tool}, FileImageStore(tmp / "images"), SYSTEM_PROMPT, confirm="never")
    engine = Engine(build_graph(saver), deps)
    session = engine.open(gradient((16, 16)))
    sizes = [checkpoint_bytes(conn, session.id)]
    runs = (
        lambda i: bare.invoke(
            {"messages": [HumanMessage(str(i))]}, {"configurable": {"thread_id": "bare"}}, durability="sync"
        ),
        lambda i: two.invoke(
            {"messages": [HumanMessage(str(i))]}, {"configurable": {"thread_id": "two"}}, durability="sync"
        ),
        lambda i: session.send(f"edit {i}"),
    )
    (bare_wall, bare_cpu), (two_wall, two_cpu), (ours_wall, ours_cpu) = timed(list(runs), turns)
    sizes.append(checkpoint_bytes(conn, session.id))

    bare_ms, ours_ms = statistics.median(bare_wall) * 1e3, statistics.median(ours_wall) * 1e3
    bare_cpu_ms, ours_cpu_ms = statistics.median(bare_cpu) * 1e3, statistics.median(ours_cpu) * 1e3
    print(f"turn, bare LangGraph (3 nodes, SQLite, sync):     {bare_ms:7.2f} ms wall, {bare_cpu_ms:5.2f} ms CPU median")
    print(f"turn, dialogpaint edit (fake model, mirror tool): {ours_ms:7.2f} ms wall, {ours_cpu_ms:5.2f} ms CPU median")
    print(
        f"overhead ratio: {ours_ms / bare_ms:.2f}x wall, {ours_cpu_ms / bare_cpu_ms:.2f}x CPU  (target <= 1.2x; ours "
        "includes the model call's LangChain machinery, the tool, PNG decode and encode, the image store (a mirror "
        "alternates two images, so it re-reads and checks the stored file), revision rows and the transcript insert)"
    )
    two_ms, two_cpu_ms = statistics.median(two_wall) * 1e3, statistics.median(two_cpu) * 1e3
    print(
        f"turn, bare LangGraph (2 nodes, as many steps as ours): {two_ms:7.2f} ms wall, {two_cpu_ms:5.2f} ms CPU median"
    )
    print(f"overhead over the two-step bare graph: {ours_ms / two_ms:.2f}x wall, {ours_cpu_ms / two_cpu_ms:.2f}x CPU")
    print(f"bare:        {cpu_line(bare_cpu)}")
    print(f"dialogpaint: {cpu_line(ours_cpu)}")
    growth = (sizes[-1] - sizes[0]) / turns
    print(f"latest checkpoint: {sizes[0]} B at start, {sizes[-1]} B after {turns} edits: {growth:.0f} B per revision")
    print(f"sqlite file: {(tmp / 'bench.sqlite').stat().st_size / 1e6:.1f} MB for {turns} turns of each of 3 graphs")

    policy = LocalPolicy().bind_tools(tool_schemas(load_registry(plugins=False), pending=False))
    texts = [
        "can you make it black and white please",
        "turn the dog into a cheetah",
        "make it better",
        "go back two steps",
    ]
    start = time.perf_counter()
    for _ in range(50):
        for text in texts:
            policy.invoke([HumanMessage(text)])
    print(f"local policy decision: {(time.perf_counter() - start) / 200 * 1e3:.2f} ms (target < 10 ms)")

    for label, args in (("dialogpaint --help", ["--help"]), ("dialogpaint demo", ["demo", "--out", str(tmp / "demo")])):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "agent.cli", *args], check=True, capture_output=True, cwd=ROOT)
        print(f"{label}: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
