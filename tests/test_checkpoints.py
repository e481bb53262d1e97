"""Checkpoints on real SQLite (and Postgres when available): strict loading, private files, pruning."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ormsgpack
import pytest
from langgraph.checkpoint.serde.jsonplus import EXT_CONSTRUCTOR_SINGLE_ARG, JsonPlusSerializer

from agent.session.engine import Engine
from agent.settings import Settings
from agent.wiring import create_engine
from graphs.storage.checkpoint import sqlite_checkpointer
from tests.fakes import gradient
from tests.service_helpers import KEY_A, auth, require_serve_extra, send, upload
from tests.test_postgres import postgres_url  # noqa: F401  (the fixture: skips without a server)
from tools.errors import CheckpointRejected

Backend = Callable[..., Engine]


def os_system(command: str) -> ormsgpack.Ext:
    """The msgpack ext that LangGraph's permissive loader turns into ``os.system(command)``."""
    return ormsgpack.Ext(EXT_CONSTRUCTOR_SINGLE_ARG, ormsgpack.packb(["os", "system", command]))


def with_payload(blob: bytes, key: str | None, payload: ormsgpack.Ext) -> bytes:
    """A stored msgpack value with ``payload`` appended to its list (or to the list under ``key``)."""
    value = ormsgpack.unpackb(blob, ext_hook=ormsgpack.Ext, option=ormsgpack.OPT_NON_STR_KEYS)
    (value if key is None else value["channel_values"][key]).append(payload)
    return ormsgpack.packb(value)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Backend]:
    """Engines on one SQLite data directory; each call is a fresh engine (a restart)."""
    engines: list[Engine] = []

    def make(**settings: Any) -> Engine:
        engines.append(create_engine(Settings(data_dir=tmp_path / "data", **settings)))
        return engines[-1]

    yield make
    for engine in engines:
        engine.close()


@pytest.fixture
def postgres_engine(postgres_url: str, tmp_path: Path) -> Iterator[Backend]:  # noqa: F811
    """Engines on the test Postgres server; each call is a fresh engine (a restart)."""
    engines: list[Engine] = []

    def make(**settings: Any) -> Engine:
        config = Settings(data_dir=tmp_path / "data", checkpoint_url=postgres_url, **settings)
        engines.append(create_engine(config))
        return engines[-1]

    yield make
    for engine in engines:
        engine.close()


@contextmanager
def sql(engine: Engine) -> Iterator[Any]:
    """A connection to the engine's checkpoint database (SQLite or Postgres), to read or tamper with rows."""
    saver: Any = engine.graph.checkpointer
    if isinstance(saver.conn, sqlite3.Connection):
        yield saver.conn
        saver.conn.commit()
    else:
        with saver.conn.connection() as conn:  # the pool
            yield conn


def tamper_sqlite(conn: sqlite3.Connection, session_id: str, payload: ormsgpack.Ext) -> bytes:
    """Append ``payload`` to the messages of the session's latest SQLite checkpoint; return the new row."""
    row = conn.execute(
        "SELECT checkpoint_id, checkpoint FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id DESC LIMIT 1",
        (session_id,),
    ).fetchone()
    blob = with_payload(row[1], "messages", payload)
    conn.execute("UPDATE checkpoints SET checkpoint = ? WHERE checkpoint_id = ?", (blob, row[0]))
    return blob


def tamper(engine: Engine, session_id: str, payload: ormsgpack.Ext) -> bytes:
    """Append ``payload`` to the session's stored messages; return the stored value as written."""
    with sql(engine) as conn:
        if isinstance(conn, sqlite3.Connection):
            return tamper_sqlite(conn, session_id, payload)
        rows = conn.execute(
            "SELECT version, blob FROM checkpoint_blobs WHERE thread_id = %s AND channel = 'messages'", (session_id,)
        ).fetchall()
        for row in rows:
            blob = with_payload(row["blob"], None, payload)
            conn.execute(
                "UPDATE checkpoint_blobs SET blob = %s WHERE thread_id = %s AND channel = 'messages' AND version = %s",
                (blob, session_id, row["version"]),
            )
        return blob


def check_tampered_row_runs_nothing(make: Backend, tmp_path: Path) -> None:
    """A checkpoint row carrying ``os.system`` is refused on resume, naming the session and the type."""
    engine = make(confirm="never")
    session = engine.open(gradient())
    assert session.send("make it brighter").action == "edit"
    marker = tmp_path / "pwned"
    blob = tamper(engine, session.id, os_system(f"touch {marker}"))

    restarted = make(confirm="never")
    with pytest.raises(CheckpointRejected) as refused:
        restarted.resume(session.id).send("flip it horizontally")
    assert f"session {session.id}" in str(refused.value) and "os.system" in str(refused.value)
    assert not marker.exists()
    # The row is a real exploit: LangGraph's default (permissive) loader runs it.
    JsonPlusSerializer().loads_typed(("msgpack", blob))
    assert marker.exists()


def test_a_tampered_sqlite_checkpoint_runs_nothing_and_names_the_session(sqlite_engine, tmp_path):
    check_tampered_row_runs_nothing(sqlite_engine, tmp_path)


def test_a_tampered_postgres_checkpoint_runs_nothing_and_names_the_session(postgres_engine, tmp_path):
    check_tampered_row_runs_nothing(postgres_engine, tmp_path)


def test_the_service_answers_session_corrupt_for_a_tampered_session(tmp_path):
    require_serve_extra()
    from fastapi.testclient import TestClient

    from agent.service.app import create_app

    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY_A, confirm="never")
    marker = tmp_path / "pwned"
    with TestClient(create_app(settings)) as client:
        sid = upload(client, KEY_A).json()["id"]
        assert send(client, KEY_A, sid, "make it brighter")[-1]["data"]["action"] == "edit"
        with sqlite3.connect(settings.checkpoint_path) as conn:
            tamper_sqlite(conn, sid, os_system(f"touch {marker}"))
        answer = client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A))
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "session_corrupt"
    assert f"session {sid}" in answer.json()["error"]["message"] and not marker.exists()


def test_a_pickle_row_is_refused_not_unpickled(tmp_path):
    saver = sqlite_checkpointer(tmp_path / "s.sqlite")
    with pytest.raises(CheckpointRejected, match="serialization type 'pickle'"):
        saver.serde.loads_typed(("pickle", b"\x80\x04N."))
    saver.conn.close()


def test_the_database_and_its_wal_and_shm_files_are_private(tmp_path, sqlite_engine):
    previous = os.umask(0o022)  # the usual umask, which made the database 0644
    try:
        old = tmp_path / "old.sqlite"
        sqlite3.connect(old).close()
        assert old.stat().st_mode & 0o777 == 0o644
        sqlite_checkpointer(old).conn.close()
        assert old.stat().st_mode & 0o777 == 0o600  # an existing database is made private too

        engine = sqlite_engine(confirm="never")
        engine.open(gradient()).send("make it brighter")
        data = tmp_path / "data"
        files = [data / name for name in ("sessions.sqlite", "sessions.sqlite-wal", "sessions.sqlite-shm")]
        assert {path.name: oct(path.stat().st_mode & 0o777) for path in files} == {p.name: "0o600" for p in files}
    finally:
        os.umask(previous)


def counts(engine: Engine, session_id: str) -> dict[str, int]:
    """How many checkpoint rows (and writes, and Postgres blobs) a session has."""
    with sql(engine) as conn:
        if isinstance(conn, sqlite3.Connection):
            query = "SELECT count(*) FROM {} WHERE thread_id = ?"
            return {t: conn.execute(query.format(t), (session_id,)).fetchone()[0] for t in ("checkpoints", "writes")}
        query = "SELECT count(*) AS n FROM {} WHERE thread_id = %s"
        names = ("checkpoints", "checkpoint_writes", "checkpoint_blobs")
        return {t: conn.execute(query.format(t), (session_id,)).fetchone()["n"] for t in names}


TURNS = ("make it brighter", "yes", "flip it horizontally", "yes", "undo", "what can you do?", "redo")


def check_pruned_sessions_resume(make: Backend) -> None:
    """After many turns a session keeps one checkpoint, and resumes with history, head and pending edit."""
    engine = make(confirm="always")
    session, other = engine.open(gradient()), engine.open(gradient())
    most: dict[str, int] = {}
    for text in TURNS * 3 + ("make it black and white",):  # ends awaiting a yes or no
        session.send(text)
        other.send(text)
        most = {table: max(n, most.get(table, 0)) for table, n in counts(engine, session.id).items()}
    assert most["checkpoints"] == 1, most
    assert most.get("writes", 0) <= 4 and most.get("checkpoint_blobs", 0) <= 8, most
    assert counts(engine, other.id)["checkpoints"] == 1
    history, head, pending = session.history(), session.head["id"], session.confirmation()
    assert pending is not None and len(session.revisions) == 7

    restarted = make(confirm="always").resume(session.id)
    assert restarted.history() == history and restarted.head["id"] == head
    assert restarted.confirmation() == pending
    applied = restarted.send("yes")
    assert applied.action == "edit" and len(applied.revisions) == 8
    assert restarted.undo().head == head  # undo lives in the revision tree, not in checkpoints
    assert make(confirm="always").resume(other.id).confirmation() is not None


def test_sqlite_keeps_one_checkpoint_per_session_and_resumes_after_pruning(sqlite_engine):
    check_pruned_sessions_resume(sqlite_engine)


def test_postgres_keeps_one_checkpoint_per_session_and_resumes_after_pruning(postgres_engine):
    check_pruned_sessions_resume(postgres_engine)
