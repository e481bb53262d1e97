"""Crash safety on a real SQLite file (issue 14 items 12, 13): what is announced is saved."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.settings import Settings
from agent.wiring import create_engine
from tests.fakes import gradient

ROOT = Path(__file__).resolve().parents[1]


def saved_revision_ids(data_dir: Path, session_id: str) -> set[str]:
    """Revision ids in the session's latest checkpoint, read through a second engine (a new connection).

    The checkpoint itself, not the pending writes beside it: a run that dies before the step's
    checkpoint leaves the step to be run again, so only the checkpoint makes a revision durable.
    """
    with create_engine(Settings(data_dir=data_dir)) as other:
        saved = other.graph.checkpointer.get_tuple({"configurable": {"thread_id": session_id}})  # type: ignore[union-attr]
        assert saved is not None
        return {r["id"] for r in saved.checkpoint["channel_values"]["revisions"]}


def test_a_revision_is_announced_only_once_its_checkpoint_is_written(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", confirm="never")
    seen: list[tuple[str, bool]] = []
    with create_engine(settings) as engine:
        session = engine.open(gradient())

        def on_event(event: dict[str, Any]) -> None:
            if event["kind"] == "revision":  # a crash right now must not lose it
                revision_id = event["revision"]["id"]
                seen.append((revision_id, revision_id in saved_revision_ids(settings.data_dir, session.id)))

        reply = session.send("make it brighter and add a vignette", on_event=on_event)
    assert reply.action == "edit" and len(reply.revisions) == 3
    assert [r for r, _ in seen] == [r["id"] for r in reply.revisions[1:]]
    assert all(saved for _, saved in seen)


KILLED_MID_EDIT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from agent.settings import Settings
    from agent.wiring import build_tools, create_engine
    data_dir, marker, session_id, key = sys.argv[1:]
    settings = Settings(data_dir=data_dir, confirm="never")
    tools = dict(build_tools(settings))

    class Stuck(type(tools["grayscale"])):
        def __call__(self, image, params, **kwargs):
            Path(marker).touch()
            time.sleep(120)  # killed here, mid-edit

    tools["grayscale"] = Stuck()
    with create_engine(settings, tools=tools) as engine:
        engine.resume(session_id).send("make it black and white", request_key=key or None)
    """
)


def kill_mid_edit(data_dir: Path, key: str = "") -> str:
    """Open a session, then SIGKILL a child process while its tool runs the edit; the session id."""
    marker = data_dir.parent / "editing"
    with create_engine(Settings(data_dir=data_dir)) as engine:
        session_id = engine.open(gradient()).id
    argv = [sys.executable, "-c", KILLED_MID_EDIT, str(data_dir), str(marker), session_id, key]
    child = subprocess.Popen(argv, cwd=ROOT)
    try:
        for _ in range(600):  # the child's imports take a few seconds on a busy machine
            if marker.exists() or child.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), "the child never reached the edit"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    return session_id


def test_an_edit_killed_midway_is_finished_once_by_the_next_turn(tmp_path):
    data_dir = tmp_path / "data"
    session_id = kill_mid_edit(data_dir)
    events: list[dict[str, Any]] = []
    with create_engine(Settings(data_dir=data_dir, confirm="never")) as engine:
        session = engine.resume(session_id)
        assert engine.graph.get_state(session.config).next == ("edit",)  # the crash left the edit to do
        reply = session.send("thanks", on_event=events.append)
        state, history = session.state(), session.history()
    # The interrupted edit was made once, announced, and is the head the next turn kept.
    edits = [r for r in state["revisions"] if r["tool"] == "grayscale"]
    assert len(edits) == 1 and state["head"] == edits[0]["id"] == reply.head
    assert [e["revision"]["id"] for e in events if e["kind"] == "revision"] == [edits[0]["id"]]
    # Every tool call has its ToolMessage, so the history stays valid for OpenAI-format servers.
    calls = [c["id"] for m in state["messages"] if isinstance(m, AIMessage) for c in m.tool_calls]
    answered = [m.tool_call_id for m in state["messages"] if isinstance(m, ToolMessage)]
    assert calls == answered and history[-2][1] == "thanks" and len(reply.revisions) == 2


def test_a_retry_with_the_same_key_after_a_crash_returns_the_finished_edit(tmp_path):
    data_dir = tmp_path / "data"
    session_id = kill_mid_edit(data_dir, key="retry-1")
    with create_engine(Settings(data_dir=data_dir, confirm="never")) as engine:
        session = engine.resume(session_id)
        reply = session.send("make it black and white", request_key="retry-1")
        again = session.send("make it black and white", request_key="retry-1")
        state = session.state()
    edits = [r for r in state["revisions"] if r["tool"] == "grayscale"]
    assert len(edits) == 1 and reply.head == again.head == edits[0]["id"] and reply.action == "edit"
    assert sum(isinstance(m, HumanMessage) for m in state["messages"]) == 1  # the retries added no turn


def test_a_resumed_session_reads_its_checkpoint_once_before_its_first_turn(tmp_path, monkeypatch):
    """The crash check and the confirmation check share one read of a settled checkpoint."""
    settings = Settings(data_dir=tmp_path / "data", confirm="never")
    with create_engine(settings) as engine:
        session_id = engine.open(gradient()).id
        engine.resume(session_id).send("make it brighter")
    with create_engine(settings) as engine:  # a new process: nothing known about the session yet
        session = engine.resume(session_id)
        reads: list[int] = []
        get_state = engine.graph.get_state
        monkeypatch.setattr(engine.graph, "get_state", lambda *a, **k: reads.append(1) or get_state(*a, **k))
        reply = session.send("add a vignette")
    assert reply.action == "edit" and len(reply.revisions) == 3
    assert len(reads) == 1
