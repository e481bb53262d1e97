"""On Postgres the revision tree is stored as rows written once, not in every edit's checkpoint (issue 29)."""

from __future__ import annotations

import pytest

from agent.settings import Settings
from agent.wiring import create_engine
from tests.fakes import gradient
from tests.test_postgres import postgres_url
from tests.test_revision_rows import EDITS

__all__ = ["postgres_url"]  # the fixture: skips without a server


def rows(url: str, session_id: str) -> list[tuple[int, str]]:
    import psycopg

    with psycopg.connect(url) as conn:
        query = "SELECT seq, revision_id FROM revision_rows WHERE thread_id = %s ORDER BY seq"
        return [(int(seq), str(rid)) for seq, rid in conn.execute(query, (session_id,))]


def blob_bytes(url: str, session_id: str) -> int:
    """The size of the revisions' blob the session's latest checkpoint refers to."""
    import psycopg

    query = """SELECT length(b.blob) FROM checkpoints c JOIN checkpoint_blobs b ON b.thread_id = c.thread_id
        AND b.checkpoint_ns = c.checkpoint_ns AND b.channel = 'revisions'
        AND b.version = c.checkpoint -> 'channel_versions' ->> 'revisions'
        WHERE c.thread_id = %s ORDER BY c.checkpoint_id DESC LIMIT 1"""
    with psycopg.connect(url) as conn:
        found = conn.execute(query, (session_id,)).fetchone()
    assert found is not None
    return int(found[0])


@pytest.fixture
def pg(postgres_url: str) -> str:
    """The test Postgres server's URL."""
    return postgres_url


def test_each_revision_is_one_row_and_the_checkpoint_does_not_grow_with_them(pg, tmp_path):
    settings = Settings(data_dir=tmp_path, confirm="never", window_turns=4, checkpoint_url=pg)
    with create_engine(settings) as engine:
        session = engine.open(gradient())
        for text in EDITS * 2:
            session.send(text)
        early = blob_bytes(pg, session.id)
        for text in EDITS * 6:
            session.send(text)
        assert blob_bytes(pg, session.id) == early < 200  # 24 more revisions, the same marker
        ids = [r["id"] for r in session.revisions]
        assert len(ids) == 33 and rows(pg, session.id) == list(enumerate(ids))
    with create_engine(settings) as engine:  # a restart reads them back
        again = engine.resume(session.id)
        assert [r["id"] for r in again.revisions] == ids and again.head["id"] == ids[-1]
        assert again.send("undo").action == "undo" and again.head["id"] == ids[-2]
        engine.delete(session.id)
        assert rows(pg, session.id) == []


def test_two_processes_on_one_database_see_each_others_revisions(pg, tmp_path):
    settings = Settings(data_dir=tmp_path, confirm="never", checkpoint_url=pg)
    with create_engine(settings) as one, create_engine(settings) as two:
        first = one.open(gradient())
        first.send("make it brighter")
        second = two.resume(first.id)
        assert second.send("flip it horizontally").action == "edit"  # two read the row one wrote
        assert first.send("make it black and white").action == "edit"  # one reads the row two wrote
        made = [r["instruction"] for r in second.revisions]
        assert made == [None, "make it brighter", "flip it horizontally", "make it black and white"]
        assert [r["id"] for r in first.revisions] == [r["id"] for r in second.revisions]
        assert rows(pg, first.id) == list(enumerate(r["id"] for r in first.revisions))


def test_a_session_saved_with_its_revisions_inline_moves_them_to_rows_on_first_load(
    pg, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    from langgraph.checkpoint.postgres import PostgresSaver

    from graphs.storage import postgres_revisions
    from graphs.storage.postgres_revisions import PostgresRevisionRows

    settings = Settings(data_dir=tmp_path, confirm="never", checkpoint_url=pg)
    with monkeypatch.context() as old:  # the saver as 5566914 shipped it: upstream PostgresSaver's put and load
        old.setattr(PostgresRevisionRows, "put", PostgresSaver.put)
        old.setattr(PostgresRevisionRows, "filled", lambda self, found: found)
        with create_engine(settings) as engine:
            session = engine.open(gradient())
            for text in EDITS[:3]:
                session.send(text)
            before = [r["id"] for r in session.revisions]
    inline = blob_bytes(pg, session.id)
    assert rows(pg, session.id) == [] and len(before) == 4 and inline > 500
    with monkeypatch.context() as broken, create_engine(settings) as engine:  # a migration that fails: rolled back
        broken.setattr(postgres_revisions, "_MARK_BLOB", "UPDATE no_such_table SET x = 1")
        assert [r["id"] for r in engine.resume(session.id).revisions] == before  # the load goes on
        assert rows(pg, session.id) == [] and blob_bytes(pg, session.id) == inline
    with create_engine(settings) as engine:
        again = engine.resume(session.id)  # the first load moves them
        assert [r["id"] for r in again.revisions] == before and rows(pg, session.id) == list(enumerate(before))
        assert blob_bytes(pg, session.id) < 200
        assert again.send("increase the contrast").action == "edit"
        after = [r["id"] for r in again.revisions]
        assert after[:4] == before and rows(pg, session.id) == list(enumerate(after))
    with create_engine(settings) as engine:
        assert [r["id"] for r in engine.resume(session.id).revisions] == after
        engine.delete(session.id)
