"""Checkpointer setup: SQLite in the data directory by default."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver


def sqlite_checkpointer(path: str | Path) -> SqliteSaver:
    """A SQLite checkpointer on ``path`` (created if missing), usable from worker threads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # SqliteSaver serialises access with its own lock, so sharing the connection across threads is safe.
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver
