"""The revision tree on Postgres as append-only rows, so an edit's checkpoint does not grow with the session.

PostgresSaver writes a channel's blob only in the steps that change it, but ``revisions`` changes
with every edit and its blob is the whole list: at 1,000 revisions each edit wrote (and each load
read back) the list again. As on SQLite (``graphs.storage.revision_rows``), each revision is written
once here, as a row of ``revision_rows`` at its position in the list, in the transaction that writes
the checkpoint that first holds it; the checkpoint's blob is a marker (how many revisions, the last
one's id), and loading puts the list back from the rows this process has not read yet (none,
usually), each loaded as strictly as a checkpoint. ``state["revisions"]`` is the whole list as before.

A session saved before (its list inline in a blob) is migrated the first time it is loaded: its
revisions become rows and the blob becomes the marker, in one transaction; rows are inserted once
(``ON CONFLICT DO NOTHING``), so two processes migrating the same session at once agree. If the rows
do not continue a list (a state forked by hand), that checkpoint keeps its list inline, as before.
"""

from __future__ import annotations

import builtins
import contextlib
import contextvars
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg import Cursor
from psycopg import Error as PostgresError
from psycopg.rows import DictRow

from graphs.storage.revision_rows import CHANNEL, MARK, SeenRevisions, thread_key

SETUP = """CREATE TABLE IF NOT EXISTS revision_rows (
    thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL, seq INTEGER NOT NULL, revision_id TEXT NOT NULL,
    type TEXT NOT NULL, revision BYTEA NOT NULL, PRIMARY KEY (thread_id, checkpoint_ns, seq))"""
_INSERT = "INSERT INTO revision_rows VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
_LAST = (
    "SELECT seq, revision_id FROM revision_rows WHERE thread_id = %s AND checkpoint_ns = %s ORDER BY seq DESC LIMIT 1"
)
_READ = (
    "SELECT type, revision FROM revision_rows WHERE thread_id = %s AND checkpoint_ns = %s AND seq >= %s AND seq < %s "
    "ORDER BY seq"
)
_MARK_BLOB = (
    "UPDATE checkpoint_blobs SET type = %s, blob = %s "
    "WHERE thread_id = %s AND checkpoint_ns = %s AND channel = %s AND version = %s"
)
Key = tuple[str, str]
logger = logging.getLogger(__name__)


class PostgresRevisionRows(PostgresSaver):
    """PostgresSaver whose ``revisions`` channel is stored as rows written once (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen = SeenRevisions()
        # The cursor of the transaction put() holds, which the saver's own statements then run on.
        self._pinned: contextvars.ContextVar[Cursor[DictRow] | None] = contextvars.ContextVar("pinned", default=None)

    def setup(self) -> None:
        """The saver's tables and ``revision_rows``."""
        super().setup()
        with self._cursor() as cur:
            cur.execute(SETUP)

    @contextlib.contextmanager
    def _cursor(self, *, pipeline: bool = False) -> Iterator[Cursor[DictRow]]:
        """The saver's cursor, or inside put() the cursor of its transaction."""
        pinned = self._pinned.get()
        if pinned is not None:
            yield pinned
            return
        with super()._cursor(pipeline=pipeline) as cur:
            yield cur

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Cursor[DictRow]]:
        """One transaction that the saver's own statements inside it join."""
        with super()._cursor() as cur, cur.connection.transaction():
            token = self._pinned.set(cur)
            try:
                yield cur
            finally:
                self._pinned.reset(token)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Write the revisions not yet stored as rows and the checkpoint with a marker, in one transaction."""
        revisions = checkpoint["channel_values"].get(CHANNEL)
        if CHANNEL not in new_versions or not isinstance(revisions, list) or not revisions:
            return super().put(config, checkpoint, metadata, new_versions)  # the revisions' blob is not written
        key = thread_key(config)
        with self._transaction() as cur:
            if not self._rows(cur, key, revisions):  # rows that do not start the list: inline
                return super().put(config, checkpoint, metadata, new_versions)
            values = {**checkpoint["channel_values"], CHANNEL: {MARK: len(revisions), "last": revisions[-1]["id"]}}
            saved = super().put(config, {**checkpoint, "channel_values": values}, metadata, new_versions)
        self.seen.remember(key, revisions)
        return saved

    def _rows(self, cur: Cursor[DictRow], key: Key, revisions: Sequence[dict[str, Any]]) -> bool:
        """Insert the revisions that are not rows yet; False if the rows do not start the list."""
        cur.execute(_LAST, key)
        last = cur.fetchone()
        stored = 0 if last is None else int(last["seq"]) + 1
        if stored > len(revisions) or (stored and revisions[stored - 1]["id"] != last["revision_id"]):  # type: ignore[index]
            return False
        if stored < len(revisions):
            rows = [
                (*key, seq, r["id"], *self.serde.dumps_typed(r)) for seq, r in enumerate(revisions) if seq >= stored
            ]
            cur.executemany(_INSERT, rows)
        return True

    def filled(self, found: CheckpointTuple) -> CheckpointTuple:
        """``found`` with a revisions marker replaced by the list it stands for, or an inline list moved to rows."""
        values = found.checkpoint["channel_values"]
        marker = values.get(CHANNEL)
        key = thread_key(found.config)
        if isinstance(marker, dict) and MARK in marker:
            values[CHANNEL] = self.seen.first(key, int(marker[MARK]), str(marker["last"]), self._read)
        elif isinstance(marker, list) and marker and CHANNEL in found.checkpoint["channel_versions"]:
            self._migrate(key, marker, str(found.checkpoint["channel_versions"][CHANNEL]))
        return found

    def _migrate(self, key: Key, revisions: builtins.list[dict[str, Any]], version: str) -> None:
        """Move a list saved inline to rows, and its blob to the marker (a session saved before the rows).

        Housekeeping on a read: if it fails (a lost connection, a conflict) the transaction is rolled back,
        the load goes on with the list it read, and the next load tries again.
        """
        marker = {MARK: len(revisions), "last": revisions[-1]["id"]}
        try:
            with self._transaction() as cur:
                if not self._rows(cur, key, revisions):
                    return
                cur.execute(_MARK_BLOB, (*self.serde.dumps_typed(marker), *key, CHANNEL, version))
        except PostgresError:
            logger.warning("could not move the revisions of session %s to rows", key[0], exc_info=True)
            return
        self.seen.remember(key, revisions)

    def _read(self, key: Key, start: int, end: int) -> builtins.list[dict[str, Any]]:
        """Rows ``start`` to ``end`` (exclusive), loaded strictly."""
        with self._cursor() as cur:
            cur.execute(_READ, (*key, start, end))
            rows = cur.fetchall()
        return [self.serde.loads_typed((str(row["type"]), bytes(row["revision"]))) for row in rows]

    def delete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints, writes and revision rows."""
        super().delete_thread(thread_id)
        with self._cursor() as cur:
            cur.execute("DELETE FROM revision_rows WHERE thread_id = %s", (str(thread_id),))
        self.forget(str(thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """PostgresSaver's prune; ``delete`` also deletes the threads' revision rows."""
        super().prune(thread_ids, strategy=strategy)
        if strategy == "delete":
            with self._cursor() as cur:
                cur.execute("DELETE FROM revision_rows WHERE thread_id = ANY(%s)", ([str(t) for t in thread_ids],))
            for thread_id in thread_ids:
                self.forget(str(thread_id))

    def forget(self, thread_id: str) -> None:
        """Drop what this process has read of a thread's rows (they were deleted)."""
        self.seen.forget(thread_id)
