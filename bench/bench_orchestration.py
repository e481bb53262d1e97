"""Per-turn orchestration overhead vs a bare LangGraph graph, checkpoint growth, and CLI/policy timings.

Prints numbers; asserts nothing. Run: python bench/bench_orchestration.py
"""

from __future__ import annotations

import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph, add_messages

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.models.prompts import SYSTEM_PROMPT  # noqa: E402
from agent.policy.local import LocalPolicy  # noqa: E402
from agent.session.engine import Engine  # noqa: E402
from graphs.deps import GraphDeps  # noqa: E402
from graphs.graph import build_graph  # noqa: E402
from graphs.specs import tool_schemas  # noqa: E402
from graphs.storage.store import FileImageStore  # noqa: E402
from tests.fakes import RecordingTool, ScriptedChatModel, ai, call, gradient  # noqa: E402
from tools.registry import load_registry  # noqa: E402

TURNS = 100


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
    builder.add_node("reply", lambda s: {"messages": [AIMessage("Done: x.")]})
    builder.add_edge(START, "decide")
    builder.add_edge("decide", "edit")
    builder.add_edge("edit", "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=saver)


def checkpoint_bytes(conn: sqlite3.Connection, thread: str) -> int:
    row = conn.execute(
        "SELECT length(checkpoint) + coalesce(length(metadata), 0) FROM checkpoints "
        "WHERE thread_id = ? ORDER BY checkpoint_id DESC LIMIT 1",
        (thread,),
    ).fetchone()
    return int(row[0])


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    conn = sqlite3.connect(tmp / "bench.sqlite", check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()

    bare = bare_graph(saver)
    cfg = {"configurable": {"thread_id": "bare"}}
    bare_times = []
    for i in range(TURNS):
        start = time.perf_counter()
        bare.invoke({"messages": [HumanMessage(str(i))]}, cfg, durability="sync")
        bare_times.append(time.perf_counter() - start)

    tool = RecordingTool()
    model = ScriptedChatModel(script=[ai(call("mirror", instruction=f"edit {i}")) for i in range(TURNS)])
    deps = GraphDeps(model, {"mirror": tool}, FileImageStore(tmp / "images"), SYSTEM_PROMPT, confirm="never")
    engine = Engine(build_graph(saver), deps)
    session = engine.open(gradient((16, 16)))
    sizes = [checkpoint_bytes(conn, session.id)]
    ours = []
    for i in range(TURNS):
        start = time.perf_counter()
        session.send(f"edit {i}")
        ours.append(time.perf_counter() - start)
        sizes.append(checkpoint_bytes(conn, session.id))

    bare_ms, ours_ms = statistics.median(bare_times) * 1e3, statistics.median(ours) * 1e3
    print(f"turn, bare LangGraph (3 nodes, SQLite, sync):     {bare_ms:7.2f} ms median")
    print(f"turn, dialogpaint edit (fake model, mirror tool): {ours_ms:7.2f} ms median")
    print(f"overhead ratio: {ours_ms / bare_ms:.2f}x  (target <= 1.5x; ours includes the tool, PNG encode and fsync)")
    growth = (sizes[-1] - sizes[0]) / TURNS
    print(f"latest checkpoint: {sizes[0]} B at start, {sizes[-1]} B after {TURNS} edits: {growth:.0f} B per revision")
    print(f"sqlite file: {(tmp / 'bench.sqlite').stat().st_size / 1e6:.1f} MB for {TURNS} turns (every step kept)")

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
