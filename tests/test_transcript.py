"""The state keeps a window of the conversation; the transcript table keeps every turn (issue 29).

Nothing is lost: a windowed session reads, through every history surface, what a session that keeps
everything in its state reads, byte for byte the same before and after a restart; idempotency keys of
turns that left the window still answer; sessions saved by 5566914 (whole conversation in the state)
move their old turns out on their first step and go on.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import anyio
import pytest
from langchain_core.messages import HumanMessage

from agent.session.engine import Engine
from agent.session.idempotency import RequestKeyRejected
from agent.session.session import Session
from agent.settings import Settings
from agent.wiring import create_engine
from graphs.storage.checkpoint import StrictSerializer
from tests.fakes import gradient

OLD_DATA = Path(__file__).resolve().parent / "data" / "sessions-5566914"
# Edits, a question and its answer, undo and redo, chat: every kind of turn, several messages each.
SCRIPT = (
    "make it brighter",
    "make it better",
    "brighter and more contrast",
    "flip it horizontally",
    "undo",
    "what can you do?",
    "redo",
    "make it black and white",
    "undo 2",
)
WINDOW = 4
MOST = WINDOW + WINDOW // 2  # turns move out half a window at a time (graphs.window)


def talk(session: Session, turns: int, *, first: int = 0) -> None:
    """``turns`` messages of the script, every fifth an undo button, each sent with a request key."""
    for i in range(first, first + turns):
        if i % 5 == 4:
            session.undo()
        else:
            session.send(SCRIPT[i % len(SCRIPT)], request_key=f"turn-{i}")


def humans(state: Any) -> int:
    return sum(isinstance(m, HumanMessage) for m in state["messages"])


def said(session: Session) -> list[tuple[str, str]]:
    """Every message's type and text, revision ids (random) replaced by their creation index."""
    ids = {r["id"]: f"#{i}" for i, r in enumerate(session.revisions)}
    texts = [(type(m).__name__, m.text) for m in session.messages()]
    return [(kind, re.sub(r"r_[\w-]{22}", lambda found: ids[found[0]], text)) for kind, text in texts]


def wire(session: Session) -> list[bytes]:
    """Every message of the conversation as the checkpoints serialise it."""
    serde = StrictSerializer()
    return [serde.dumps_typed(m)[1] for m in session.messages()]


def test_the_state_keeps_a_window_and_the_transcript_reads_as_if_nothing_had_moved(tmp_path):
    settings = Settings(data_dir=tmp_path / "w", confirm="never", window_turns=WINDOW)
    everything = Settings(data_dir=tmp_path / "all", confirm="never", window_turns=1000)
    with create_engine(settings) as windowed, create_engine(everything) as whole:
        short, full = windowed.open(gradient()), whole.open(gradient())
        talk(short, 40)
        talk(full, 40)
        state = short.state()
        assert humans(state) <= MOST and state["archived"] > 0
        assert "archived" not in full.state() or full.state()["archived"] == 0
        assert short.history() == full.history() and len(short.history()) > 60
        assert said(short) == said(full)
        assert [r["instruction"] for r in short.path()] == [r["instruction"] for r in full.path()]


def test_a_request_key_whose_turn_left_the_window_still_answers_with_that_turn(tmp_path):
    with create_engine(Settings(data_dir=tmp_path, confirm="never", window_turns=WINDOW)) as engine:
        session = engine.open(gradient())
        first = session.send("make it brighter", request_key="early")
        talk(session, 20, first=1)
        assert humans(session.state()) <= MOST
        before = len(session.messages())
        again = session.send("make it brighter", request_key="early")
        assert (again.text, again.action, again.head) == (first.text, first.action, first.head)
        assert len(session.messages()) == before  # nothing ran
        with pytest.raises(RequestKeyRejected, match="different message"):
            session.send("make it darker", request_key="early")


def test_a_step_run_again_after_a_crash_writes_no_row_twice(tmp_path):
    with create_engine(Settings(data_dir=tmp_path, confirm="never", window_turns=WINDOW)) as engine:
        session = engine.open(gradient())
        talk(session, 12)
        transcript, archived = engine.deps.transcript, session.state()["archived"]
        assert transcript is not None
        rows = transcript.read(session.id, 0, archived)
        transcript.append(session.id, 0, list(reversed(rows)))  # positions taken: nothing is rewritten
        assert [m.id for m in transcript.read(session.id, 0, archived)] == [m.id for m in rows]
        engine.delete(session.id)
        with pytest.raises(LookupError, match="lacks messages"):
            transcript.read(session.id, 0, archived)


def surfaces(engine: Engine, settings: Settings, session_id: str) -> dict[str, str]:
    """The transcript as each history surface gives it: Session, the HTTP route, the MCP resource."""
    from fastapi.testclient import TestClient
    from mcp import Client

    from agent.mcp_server.server import Access, build_server
    from agent.service.app import create_app
    from agent.service.auth import KeyRing

    session = engine.resume(session_id)
    seen = {"wire": json.dumps([m.hex() for m in wire(session)]), "history": json.dumps(session.history())}
    with TestClient(create_app(settings, engine)) as client:
        seen["http"] = json.dumps(client.get(f"/v1/sessions/{session_id}").json()["history"])

    async def read() -> str:
        async with Client(build_server(engine, Access(KeyRing([])))) as client:
            found = await client.read_resource(f"dialogpaint://sessions/{session_id}/history")
            return json.dumps(json.loads(found.contents[0].text)["history"])  # type: ignore[union-attr]

    seen["mcp"] = anyio.run(read)
    return seen


def test_every_history_surface_gives_the_same_transcript_before_and_after_a_restart(tmp_path):
    pytest.importorskip("fastapi")
    pytest.importorskip("mcp")
    from agent.service.auth import DEV_KEY, Principal, new_session_id

    settings = Settings(data_dir=tmp_path, confirm="never", window_turns=WINDOW)
    session_id = new_session_id(Principal("dev", DEV_KEY))  # the principal of both surfaces without keys
    with create_engine(settings) as engine:
        talk(engine.open(gradient(), session_id), 30)
        before = surfaces(engine, settings, session_id)
    with create_engine(settings) as engine:
        after = surfaces(engine, settings, session_id)
    assert before == after
    pairs = json.loads(before["history"])
    assert json.loads(before["http"]) == json.loads(before["mcp"]) == [{"role": r, "text": t} for r, t in pairs]


@pytest.mark.parametrize("session_id", ["used", "fresh-opened"])
def test_a_session_saved_by_5566914_moves_its_old_turns_out_and_goes_on(tmp_path, session_id):
    data = tmp_path / "data"
    shutil.copytree(OLD_DATA, data)
    settings = Settings(data_dir=data, confirm="never", window_turns=WINDOW)
    with create_engine(settings) as engine:
        session = engine.resume(session_id)
        old = session.history()
        assert "archived" not in session.state()  # saved before the window: all of it in the state
        talk(session, 10)
        state, now = session.state(), session.history()
        assert state["archived"] > 0 and humans(state) <= MOST and now[: len(old)] == old
        assert session.send("make it brighter").action == "edit"
    with create_engine(settings) as engine:  # after a restart
        assert engine.resume(session_id).history()[: len(now)] == now
