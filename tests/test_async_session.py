"""AsyncSession through a whole dialogue on the real engine (local policy, CPU tools, SQLite, file store)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from PIL import Image

from agent.session.async_session import AsyncSession
from agent.session.refusals import SessionBusy
from agent.settings import Settings
from agent.wiring import create_engine
from tests.fakes import gradient


def test_clarify_confirm_edit_undo_redo_export_and_history(tmp_path):
    async def dialogue(session: AsyncSession) -> None:
        events: list[dict[str, Any]] = []
        assert (await session.send("make it better")).action == "clarify"
        proposal = await session.send("grayscale")  # confirm=always: proposed first
        assert proposal.action == "confirm" and (await session.confirmation()) == proposal.confirmation
        edit = await session.send("yes", on_event=events.append)
        assert edit.action == "edit" and edit.tool == "grayscale" and await session.confirmation() is None
        assert {"kind": "revision", "revision": (await session.head())} in events
        edited = (await session.head())["id"]
        assert (await session.undo()).action == "undo" and (await session.head())["parent"] is None
        assert (await session.redo()).action == "redo" and (await session.head())["id"] == edited
        assert [r["id"] for r in await session.path()] == [(await session.revisions())[0]["id"], edited]
        assert (await session.revision(edited))["instruction"] == "make it grayscale"
        assert (await session.last_reply()).action == "redo" and (await session.state())["head"] == edited
        assert (await session.replay()).matches
        out = await session.export(tmp_path / "out.png")
        red, green, blue = Image.open(out).convert("RGB").split()
        assert red.tobytes() == green.tobytes() == blue.tobytes()  # grey: the redone edit is the head
        assert (await session.image()).size == gradient().size and await session.exists()
        said = [text for role, text in await session.history() if role == "user"]
        assert said == ["make it better", "grayscale", "yes", "undo", "redo"]

    with create_engine(Settings(data_dir=tmp_path / "data", confirm="always")) as engine:
        session = AsyncSession(engine.open(gradient()))
        asyncio.run(dialogue(session))
        assert len(engine.resume(session.id).revisions) == 2  # saved: a sync resume sees the same session


def test_the_event_loop_runs_while_a_turn_waits_and_the_session_lock_holds(tmp_path):
    started, release = threading.Event(), threading.Event()

    def slow_event(event: dict[str, Any]) -> None:
        started.set()
        release.wait(30)  # the turn blocks its worker thread here, not the loop

    async def main(session: AsyncSession) -> None:
        turn = asyncio.create_task(session.send("make it black and white", on_event=slow_event))
        await asyncio.to_thread(started.wait, 30)
        with pytest.raises(SessionBusy):  # the loop is free to try a second run; the lock refuses it
            await session.undo()
        release.set()
        assert (await turn).action == "edit"

    with create_engine(Settings(data_dir=tmp_path / "data", confirm="never")) as engine:
        asyncio.run(main(AsyncSession(engine.open(gradient()))))
