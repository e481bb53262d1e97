"""Crash safety on a real SQLite file (issue 14 items 12, 13): what is announced is saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.settings import Settings
from agent.wiring import create_engine
from tests.fakes import gradient


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
