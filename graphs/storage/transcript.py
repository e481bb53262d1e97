"""The full transcript: an append-only table next to the checkpoints, holding the turns the state's window let go.

Graph state keeps only the latest turns of the conversation (``graphs.window``); older turns move
here, once, before the checkpoint that drops them from the state is written. A row is the message at
one position (``seq``) of the conversation, serialised as the checkpoints are (and loaded as strictly);
rows are inserted once and never updated (a step re-run after a crash inserts nothing new), so the
state's ``archived`` count says which rows are part of the session. Read only by the Session's
history methods (views, export, MCP resources, the HTTP history route) and by idempotency-key lookups
(indexed), never by a turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.sqlite import SqliteSaver

_SQLITE_SETUP = (
    """CREATE TABLE IF NOT EXISTS transcript (
        thread_id TEXT NOT NULL, seq INTEGER NOT NULL, human INTEGER NOT NULL, message_id TEXT,
        type TEXT NOT NULL, message BLOB NOT NULL, PRIMARY KEY (thread_id, seq))""",
    "CREATE INDEX IF NOT EXISTS transcript_message_id ON transcript (thread_id, message_id)",
)
_POSTGRES_SETUP = (
    """CREATE TABLE IF NOT EXISTS transcript (
        thread_id TEXT NOT NULL, seq INTEGER NOT NULL, human BOOLEAN NOT NULL, message_id TEXT,
        type TEXT NOT NULL, message BYTEA NOT NULL, PRIMARY KEY (thread_id, seq))""",
    "CREATE INDEX IF NOT EXISTS transcript_message_id ON transcript (thread_id, message_id)",
)


class Transcript(Protocol):
    """Where the turns a session's state no longer holds are kept, in order, for good."""

    def append(self, thread_id: str, start: int, messages: Sequence[AnyMessage]) -> None:
        """Store ``messages`` at positions ``start``, ``start + 1``, ...; a position already stored is kept as it is."""

    def read(self, thread_id: str, start: int, end: int) -> list[AnyMessage]:
        """The messages at positions ``start`` to ``end`` (exclusive), oldest first."""

    def find(self, thread_id: str, message_id: str, before: int) -> int | None:
        """The position of the message with ``message_id`` below ``before``, or None (an index lookup)."""

    def turn_end(self, thread_id: str, start: int, before: int) -> int:
        """The position of the first user message after ``start`` below ``before``, else ``before``."""

    def delete(self, thread_id: str) -> None:
        """Forget a session's transcript."""


class SqlTranscript:
    """The transcript table on the checkpointer's own SQLite or Postgres database."""

    def __init__(self, saver: BaseCheckpointSaver[Any], *, postgres: bool) -> None:
        self.saver = saver
        self.serde: SerializerProtocol = saver.serde
        self.postgres = postgres
        self.mark = "%s" if postgres else "?"
        with self.cursor() as cur:
            for statement in _POSTGRES_SETUP if postgres else _SQLITE_SETUP:
                cur.execute(statement)

    def cursor(self) -> Any:
        """A cursor of the checkpointer's connection (its lock held, committed on exit)."""
        if self.postgres:
            return self.saver._cursor()  # type: ignore[attr-defined]
        assert isinstance(self.saver, SqliteSaver)
        return self.saver.cursor()

    def sql(self, statement: str) -> str:
        """``statement`` with its ``?`` placeholders in this database's style."""
        return statement.replace("?", self.mark)

    def append(self, thread_id: str, start: int, messages: Sequence[AnyMessage]) -> None:
        """Insert the rows; a position already stored is left as it is (a re-run step)."""
        rows = []
        for seq, message in enumerate(messages, start):
            kind, data = self.serde.dumps_typed(message)
            human = isinstance(message, HumanMessage)
            rows.append((thread_id, seq, human if self.postgres else int(human), message.id, kind, data))
        insert = (
            "INSERT INTO transcript (thread_id, seq, human, message_id, type, message) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (thread_id, seq) DO NOTHING"
        )
        with self.cursor() as cur:
            cur.executemany(self.sql(insert), rows)

    def read(self, thread_id: str, start: int, end: int) -> list[AnyMessage]:
        """Load the rows strictly, as checkpoints are; LookupError if any is missing."""
        select = "SELECT seq, type, message FROM transcript WHERE thread_id = ? AND seq >= ? AND seq < ? ORDER BY seq"
        with self.cursor() as cur:
            cur.execute(self.sql(select), (thread_id, start, end))
            rows = [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in cur.fetchall()]
        if [row[0] for row in rows] != list(range(start, end)):
            raise LookupError(f"the transcript of session {thread_id} lacks messages between {start} and {end}")
        return [self.serde.loads_typed((kind, bytes(data))) for _, kind, data in rows]

    def find(self, thread_id: str, message_id: str, before: int) -> int | None:
        """One lookup in the index on message ids."""
        select = "SELECT min(seq) AS seq FROM transcript WHERE thread_id = ? AND message_id = ? AND seq < ?"
        return self.scalar(select, (thread_id, message_id, before))

    def turn_end(self, thread_id: str, start: int, before: int) -> int:
        """One lookup in the primary key's order."""
        human = "true" if self.postgres else "1"
        select = (
            f"SELECT min(seq) AS seq FROM transcript WHERE thread_id = ? AND human = {human} AND seq > ? AND seq < ?"
        )
        found = self.scalar(select, (thread_id, start, before))
        return before if found is None else found

    def scalar(self, select: str, params: tuple[Any, ...]) -> int | None:
        """The one value ``select`` reads (NULL: None)."""
        with self.cursor() as cur:
            cur.execute(self.sql(select), params)
            row = cur.fetchone()
        value = row["seq"] if isinstance(row, dict) else row[0]
        return None if value is None else int(value)

    def delete(self, thread_id: str) -> None:
        """Delete the session's rows."""
        with self.cursor() as cur:
            cur.execute(self.sql("DELETE FROM transcript WHERE thread_id = ?"), (thread_id,))


def transcript_for(checkpointer: object) -> Transcript | None:
    """The transcript table in ``checkpointer``'s database (SQLite or Postgres); None for any other saver.

    With None the state keeps the whole conversation: an in-memory saver, say, has nothing to save
    it in that would outlive the state.
    """
    if isinstance(checkpointer, SqliteSaver):
        return SqlTranscript(checkpointer, postgres=False)
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
    except ImportError:
        return None
    if isinstance(checkpointer, PostgresSaver):
        return SqlTranscript(checkpointer, postgres=True)
    return None
