"""On SQLite the revision tree is stored as rows written once, not in every checkpoint (issue 29)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from agent.settings import Settings
from agent.wiring import create_engine
from tests.fakes import gradient

OLD_DATA = Path(__file__).resolve().parent / "data" / "sessions-5566914"
EDITS = ("make it brighter", "flip it horizontally", "make it black and white", "increase the contrast")


def rows(data: Path, session_id: str) -> list[tuple[int, str]]:
    with sqlite3.connect(data / "sessions.sqlite") as conn:
        query = "SELECT seq, revision_id FROM revision_rows WHERE thread_id = ? ORDER BY seq"
        return [(int(seq), str(rid)) for seq, rid in conn.execute(query, (session_id,))]


def checkpoint_bytes(data: Path, session_id: str) -> int:
    with sqlite3.connect(data / "sessions.sqlite") as conn:
        query = "SELECT max(length(checkpoint)) FROM checkpoints WHERE thread_id = ?"
        return int(conn.execute(query, (session_id,)).fetchone()[0])


def test_each_revision_is_one_row_and_the_checkpoint_does_not_grow_with_them(tmp_path):
    with create_engine(Settings(data_dir=tmp_path, confirm="never", window_turns=4)) as engine:
        session = engine.open(gradient())
        for text in EDITS * 2:
            session.send(text)
        early = checkpoint_bytes(tmp_path, session.id)
        for text in EDITS * 6:
            session.send(text)
        assert checkpoint_bytes(tmp_path, session.id) < early + 500  # 24 more revisions, the same size
        ids = [r["id"] for r in session.revisions]
        assert len(ids) == 33 and rows(tmp_path, session.id) == list(enumerate(ids))
    with create_engine(Settings(data_dir=tmp_path, confirm="never")) as engine:  # a restart reads them back
        again = engine.resume(session.id)
        assert [r["id"] for r in again.revisions] == ids and again.head["id"] == ids[-1]
        engine.delete(session.id)
        assert rows(tmp_path, session.id) == []


def test_two_processes_on_one_database_see_each_others_revisions(tmp_path):
    settings = Settings(data_dir=tmp_path, confirm="never")
    with create_engine(settings) as one, create_engine(settings) as two:
        first = one.open(gradient())
        first.send("make it brighter")
        second = two.resume(first.id)
        assert second.send("flip it horizontally").action == "edit"  # two read the row one wrote
        assert first.send("make it black and white").action == "edit"  # one reads the row two wrote
        made = [r["instruction"] for r in second.revisions]
        assert made == [None, "make it brighter", "flip it horizontally", "make it black and white"]
        assert [r["id"] for r in first.revisions] == [r["id"] for r in second.revisions]


def test_a_session_saved_by_5566914_keeps_its_revisions_and_moves_them_to_rows(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(OLD_DATA, data)
    with create_engine(Settings(data_dir=data, confirm="never")) as engine:
        session = engine.resume("used")
        before = [r["id"] for r in session.revisions]
        assert rows(data, "used") == [] and len(before) == 2  # inline in its checkpoint, as 5566914 wrote it
        session.send("make it brighter")
        after = [r["id"] for r in session.revisions]
        assert after[:2] == before and rows(data, "used") == list(enumerate(after))
