"""A failed or interrupted run leaves a session that the next call of any kind repairs (issue 25 item 2).

tests/data/sessions-5566914 was written by 5566914: a session just opened (its checkpoint waited at
decide), one bricked by an undo sent first (every later call raised IndexError) and one used normally.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.settings import Settings
from agent.wiring import create_engine
from tests.fakes import gradient

OLD_DATA = Path(__file__).resolve().parent / "data" / "sessions-5566914"
# Left by a kill trial: `dialogpaint run` killed after the edit node's writes were saved and before its
# step's checkpoint, so the edit is in no `next` (its task is complete) and its writes are unapplied.
KILLED_AFTER_WRITES = Path(__file__).resolve().parent / "data" / "killed-after-edit-writes"
HOLD_WRITE_LOCK = (
    "import sqlite3, sys\nconn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "conn.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\nsys.stdin.read()\n"
)


@pytest.mark.parametrize("first", ["undo", "redo", "send"])
@pytest.mark.parametrize("session_id", ["fresh-opened", "bricked-by-undo", "used"])
def test_sessions_saved_by_5566914_take_any_first_call(tmp_path, session_id, first):
    data = tmp_path / "data"
    shutil.copytree(OLD_DATA, data)
    with create_engine(Settings(data_dir=data, confirm="never")) as engine:
        session = engine.resume(session_id)
        edits_before = len(session.path()) - 1
        reply = {"undo": session.undo, "redo": session.redo, "send": lambda: session.send("add a vignette")}[first]()
        assert reply.action == ("edit" if first == "send" else first), reply.text
        assert session.send("make it brighter").action == "edit"
        assert session.undo().action == "undo"
        if session_id == "used":
            assert edits_before == 1 and [role for role, _ in session.history()][:2] == ["user", "assistant"]


@pytest.mark.parametrize("first", ["undo", "redo", "send"])
def test_a_kill_between_an_edits_writes_and_its_checkpoint_is_finished_before_any_first_call(tmp_path, first):
    data = tmp_path / "data"
    shutil.copytree(KILLED_AFTER_WRITES, data)
    with create_engine(Settings(data_dir=data, confirm="never")) as engine:
        session = engine.resume("nbBfKeV6aep__i5UltjEkQ")
        reply = {"undo": session.undo, "redo": session.redo, "send": lambda: session.send("sharpen it")}[first]()
        # The edit the killed run made stands (finished once), then the first call applies to it.
        instructions = [r["instruction"] for r in session.path()]
        expected = {"undo": [None, "make it brighter", "add a vignette"], "redo": [None, "make it brighter",
                    "add a vignette", "make it black and white"], "send": [None, "make it brighter",
                    "add a vignette", "make it black and white", "sharpen it"]}[first]  # fmt: skip
        assert reply.action == ("edit" if first == "send" else first) and instructions == expected
        assert [r["instruction"] for r in session.revisions].count("make it black and white") == 1


def test_an_undo_sent_first_on_a_new_session_works_and_the_session_goes_on(tmp_path):
    with create_engine(Settings(data_dir=tmp_path, confirm="never")) as engine:
        session = engine.open(gradient())
        assert session.undo().text == "There is nothing to undo: this is the original image."
        assert session.send("make it black and white").action == "edit"
        assert engine.resume(session.id).undo().action == "undo"


def test_a_first_message_refused_by_a_locked_store_leaves_a_session_any_call_repairs(tmp_path):
    settings = Settings(data_dir=tmp_path, confirm="never", state_store_timeout_s=0.5)
    with create_engine(settings) as engine:
        session = engine.open(gradient())
        command = [sys.executable, "-c", HOLD_WRITE_LOCK, str(tmp_path / "sessions.sqlite")]
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as other:
            assert other.stdout is not None and other.stdout.readline() == "locked\n"
            with pytest.raises(Exception, match="database is locked"):
                session.send("make it sepia")
            other.communicate("")
    with create_engine(settings) as engine:  # a restart, as after a 503
        again = engine.resume(session.id)
        assert again.undo().action == "undo"
        assert again.send("make it sepia").action == "edit"
        assert [role for role, _ in again.history()] == ["user", "assistant", "user", "assistant"]
