"""One run per session across processes: lock files for one machine (SQLite), advisory locks in Postgres."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from agent.session.lock import FileSessionLock, PostgresSessionLock, SessionBusyElsewhere
from agent.session.refusals import SessionBusy
from agent.settings import Settings
from agent.wiring import create_engine
from tests.fakes import gradient
from tests.test_durability import KILLED_MID_EDIT, ROOT
from tests.test_postgres import postgres_url

__all__ = ["postgres_url"]  # fixture


def test_a_file_lock_is_reentrant_in_its_process_and_refused_to_another_holder(tmp_path):
    mine, theirs = FileSessionLock(tmp_path), FileSessionLock(tmp_path)
    mine.acquire("s1")
    mine.acquire("s1")  # the service takes it, then the session does
    with pytest.raises(SessionBusyElsewhere, match="session s1 is handling a message in another process"):
        theirs.acquire("s1")
    theirs.acquire("s2")  # other sessions are independent
    mine.release("s1")
    with pytest.raises(SessionBusyElsewhere):
        theirs.acquire("s1")
    mine.release("s1")
    theirs.acquire("s1")
    theirs.close()
    mine.acquire("s2")


def test_a_second_process_on_the_same_data_dir_gets_busy_until_the_first_dies(tmp_path):
    data_dir = tmp_path / "data"
    marker = tmp_path / "editing"
    with create_engine(Settings(data_dir=data_dir, confirm="never")) as engine:
        session_id = engine.open(gradient()).id
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_MID_EDIT, str(data_dir), str(marker), session_id, ""], cwd=ROOT
        )
        try:
            deadline = time.monotonic() + 60
            while not marker.exists():
                assert child.poll() is None and time.monotonic() < deadline, "the child never reached the edit"
                time.sleep(0.1)
            with pytest.raises(SessionBusy, match="another process"):
                engine.resume(session_id).send("make it brighter")
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        session = engine.resume(session_id)
        reply = session.send("make it brighter")  # the dead child's lock went with it
        assert reply.action == "edit"
        tools = [r["tool"] for r in session.revisions]
        assert tools == [None, "grayscale", "adjust_tone"], tools  # the cut-short edit finished once, then this one


def acquire_once_the_server_notices(lock: PostgresSessionLock, session_id: str) -> None:
    """Take ``session_id``'s lock once the server has ended the closed connection's backend (it frees the locks).

    Postgres releases a session-level advisory lock when that backend exits, which follows the client's
    close by a moment: asking at once can still find it held (it did on a loaded CI machine).
    """
    deadline = time.monotonic() + 10
    while True:
        try:
            lock.acquire(session_id)
            return
        except SessionBusyElsewhere:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_postgres_locks_exclude_other_processes_and_die_with_their_connection(postgres_url):
    first, second = PostgresSessionLock(postgres_url, 5), PostgresSessionLock(postgres_url, 5)
    try:
        first.acquire("pg-s1")
        with pytest.raises(SessionBusyElsewhere):
            second.acquire("pg-s1")
        first.close()  # what a killed replica's connection does
        acquire_once_the_server_notices(second, "pg-s1")
        second.release("pg-s1")
        first.acquire("pg-s1")  # a closed lock reconnects when used again
        first.release("pg-s1")
    finally:
        first.close()
        second.close()


def test_an_unreachable_postgres_lock_is_a_clear_error_without_the_password():
    from tools.errors import StateStoreUnavailable

    lock = PostgresSessionLock("postgresql://me:hunter2@127.0.0.1:1/none", 1)
    with pytest.raises(
        StateStoreUnavailable, match=r"cannot lock sessions in Postgres at postgresql://\*\*\*@"
    ) as caught:
        lock.acquire("s")
    assert "hunter2" not in str(caught.value)


def test_a_file_lock_tells_whether_another_process_took_the_session_since(tmp_path):
    mine, theirs = FileSessionLock(tmp_path), FileSessionLock(tmp_path)
    assert mine.acquire("s1") is False  # never held: what this process remembers is unknown
    assert mine.acquire("s1") is False  # a second take reports what the first learned
    mine.release("s1")
    mine.release("s1")
    assert mine.acquire("s1") is True  # nobody else took it since
    mine.release("s1")
    assert theirs.acquire("s1") is False
    theirs.release("s1")
    assert mine.acquire("s1") is False  # the other process may have run a turn


def test_a_single_process_reads_no_extra_checkpoint_per_turn(tmp_path, monkeypatch):
    from langgraph.graph.state import CompiledStateGraph

    with create_engine(Settings(data_dir=tmp_path / "data", confirm="never")) as engine:
        session = engine.open(gradient())
        session.send("make it brighter")
        reads = []
        original = CompiledStateGraph.get_state
        monkeypatch.setattr(
            CompiledStateGraph, "get_state", lambda self, *a, **k: reads.append(1) or original(self, *a, **k)
        )
        session.send("add a vignette")
        assert reads == []  # the lock file shows no other process ran the session


def test_a_confirmation_asked_by_one_process_is_answered_through_another(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", confirm="always")
    with create_engine(settings) as first, create_engine(settings) as second:
        session_id = first.open(gradient()).id
        assert second.resume(session_id).confirmation() is None  # the second process now remembers: nothing pending
        asked = first.resume(session_id).send("make it black and white")
        assert asked.action == "confirm", asked.text
        answered = second.resume(session_id).send("yes")  # its memory is stale: the lock file tells it so
        assert answered.action == "edit", answered.text
        assert [r["tool"] for r in second.resume(session_id).revisions] == [None, "grayscale"]
