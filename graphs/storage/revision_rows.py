"""The revision tree on SQLite as append-only rows, so a checkpoint's size does not grow with every edit.

``EditState.revisions`` only ever grows (``append_only``), yet SqliteSaver serialises every channel
into every checkpoint: at 500 revisions each step of each turn wrote and the next turn read back
140 KB, which made a turn's cost grow with the session. Here the saver writes each revision once, as
a row of ``revision_rows`` at its position in the list, in the same transaction as the checkpoint
that first holds it; the checkpoint keeps a marker (how many revisions, and the last one's id). Loading
puts the list back: the rows this process has read before are kept, so a turn reads only the rows it
has not seen (none, usually), each loaded as strictly as a checkpoint. Nothing changes for the graph
or its readers: ``state["revisions"]`` is the whole list. Postgres does the same in
``graphs.storage.postgres_revisions``.

Rows are consistent by construction: a checkpoint and its new rows commit together, only older
checkpoints are ever pruned, and revisions are never rewritten. If the rows do not continue the list
(a state forked by hand), the checkpoint holds the list inline, as before.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

CHANNEL = "revisions"
MARK = "__revision_rows__"
SETUP = """CREATE TABLE IF NOT EXISTS revision_rows (
    thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL, seq INTEGER NOT NULL, revision_id TEXT NOT NULL,
    type TEXT NOT NULL, revision BLOB NOT NULL, PRIMARY KEY (thread_id, checkpoint_ns, seq))"""
Key = tuple[str, str]
Rows = Callable[[Key, int, int], "builtins.list[dict[str, Any]]"]


def thread_key(config: RunnableConfig) -> Key:
    """The rows' key of a checkpoint's config: its thread id and namespace."""
    configurable = config["configurable"]
    return str(configurable["thread_id"]), str(configurable.get("checkpoint_ns", ""))


class SeenRevisions:
    """The revisions each thread's rows gave this process (read or written), so that putting a list
    back reads only the rows not seen yet. Shared by the SQLite and Postgres savers; thread-safe, and
    never holds its lock while ``read`` runs.
    """

    def __init__(self) -> None:
        self._seen: dict[Key, tuple[dict[str, Any], ...]] = {}
        self._lock = threading.Lock()

    def remember(self, key: Key, revisions: Sequence[dict[str, Any]]) -> None:
        """The whole list, as just written or migrated."""
        with self._lock:
            self._seen[key] = tuple(revisions)

    def first(self, key: Key, count: int, last: str, read: Rows) -> builtins.list[dict[str, Any]]:
        """The first ``count`` revisions (the last one ``last``): those seen before, then ``read(key, start,
        end)`` for the rest; all of them again if the rows were deleted and written anew elsewhere.
        """
        with self._lock:
            seen = self._seen.get(key, ())[:count]
        if not seen or seen[-1]["id"] != last:
            seen = seen + tuple(read(key, len(seen), count))
        if not seen or seen[-1]["id"] != last:
            seen = tuple(read(key, 0, count))
        if len(seen) != count or seen[-1]["id"] != last:
            raise LookupError(f"the revisions of session {key[0]} are missing rows ({len(seen)} of {count})")
        with self._lock:
            if len(seen) >= len(self._seen.get(key, ())):
                self._seen[key] = seen
        return list(seen)

    def forget(self, thread_id: str) -> None:
        """Drop what was seen of a thread's rows (they were deleted)."""
        with self._lock:
            for key in [k for k in self._seen if k[0] == thread_id]:
                del self._seen[key]


class RevisionRows(SqliteSaver):
    """SqliteSaver whose ``revisions`` channel is stored as rows written once (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()  # type: ignore[assignment]  # put() holds it around the saver's own cursor
        self.seen = SeenRevisions()

    def setup(self) -> None:
        """The saver's tables and ``revision_rows``."""
        if self.is_setup:
            return
        super().setup()
        with self.lock:
            self.conn.execute(SETUP)
            self.conn.commit()

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Write the revisions not yet stored as rows, and the checkpoint with a marker, in one transaction
        (with whatever ``before_put`` does).
        """
        key = thread_key(config)
        revisions = checkpoint["channel_values"].get(CHANNEL)
        with self.lock:
            self.setup()
            try:
                self.before_put(key, checkpoint["id"])
                stored = self._stored(key, revisions) if isinstance(revisions, list) and revisions else None
                if stored is None:  # nothing to store apart, or rows that do not start the list: inline
                    return super().put(config, checkpoint, metadata, new_versions)
                assert isinstance(revisions, list)
                rows = [
                    (*key, seq, r["id"], *self.serde.dumps_typed(r)) for seq, r in enumerate(revisions) if seq >= stored
                ]
                self.conn.executemany("INSERT INTO revision_rows VALUES (?, ?, ?, ?, ?, ?)", rows)
                marker = {MARK: len(revisions), "last": revisions[-1]["id"]}
                slim: Checkpoint = {**checkpoint, "channel_values": {**checkpoint["channel_values"], CHANNEL: marker}}
                saved = super().put(config, slim, metadata, new_versions)  # commits the rows with the checkpoint
            except BaseException:
                self.conn.rollback()
                raise
            self.seen.remember(key, revisions)
        return saved

    def before_put(self, key: Key, checkpoint_id: str) -> None:
        """Statements to run in the transaction of a checkpoint's write, before it (none here)."""

    def _stored(self, key: Key, revisions: Sequence[dict[str, Any]]) -> int | None:
        """How many of ``revisions`` are rows already; None if the rows do not start the list."""
        row = self.conn.execute(
            "SELECT seq, revision_id FROM revision_rows WHERE thread_id = ? AND checkpoint_ns = ? "
            "ORDER BY seq DESC LIMIT 1",
            key,
        ).fetchone()
        if row is None:
            return 0
        count = int(row[0]) + 1
        return count if count <= len(revisions) and revisions[count - 1]["id"] == row[1] else None

    def filled(self, found: CheckpointTuple) -> CheckpointTuple:
        """``found`` with a revisions marker replaced by the list it stands for (every loaded checkpoint
        goes through this: ``SessionCheckpoints.loaded``).
        """
        values = found.checkpoint["channel_values"]
        marker = values.get(CHANNEL)
        if isinstance(marker, dict) and MARK in marker:
            key = thread_key(found.config)
            values[CHANNEL] = self.seen.first(key, int(marker[MARK]), str(marker["last"]), self._read)
        return found

    def _read(self, key: Key, start: int, end: int) -> builtins.list[dict[str, Any]]:
        """Rows ``start`` to ``end`` (exclusive), loaded strictly."""
        with self.lock:  # the saver's connection
            rows = self.conn.execute(
                "SELECT type, revision FROM revision_rows WHERE thread_id = ? AND checkpoint_ns = ? AND seq >= ? "
                "AND seq < ? ORDER BY seq",
                (*key, start, end),
            ).fetchall()
        return [self.serde.loads_typed((kind, bytes(data))) for kind, data in rows]

    def delete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints, writes and revision rows."""
        super().delete_thread(thread_id)
        with self.cursor() as cur:
            cur.execute("DELETE FROM revision_rows WHERE thread_id = ?", (str(thread_id),))
        self.forget(str(thread_id))

    def forget(self, thread_id: str) -> None:
        """Drop what this process has read of a thread's rows (they were deleted)."""
        self.seen.forget(thread_id)
