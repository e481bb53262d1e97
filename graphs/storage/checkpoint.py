"""Checkpointer setup: SQLite in the data directory by default, Postgres when a URL is configured.

Both load checkpoints strictly (only the types the state holds; anything else is refused, never
imported or called) and keep only each session's latest checkpoint: undo and redo live in the
revision tree in the state, so older checkpoints are dead weight that grows with every step. SQLite
drops them as it writes the next one, in the same transaction; Postgres after each turn. On both the
revision tree is stored as rows written once (``revision_rows``, ``postgres_revisions``).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.serde.event_hooks import SerdeEvent, register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from graphs.storage.revision_rows import RevisionRows
from tools.errors import CheckpointRejected, MissingExtra, StateStoreUnavailable
from tools.redaction import redacted

logger = logging.getLogger(__name__)

# The types a checkpoint may hold beyond LangGraph's own SAFE_MSGPACK_TYPES (messages, Interrupt,
# Command, datetime, ...): none. Revisions, pending edits and the redo stack are plain dicts and lists.
STATE_TYPES: tuple[tuple[str, str], ...] = ()
# Row types the serializer writes; "pickle" and legacy "json" rows are refused.
ROW_TYPES = frozenset({"null", "bytes", "bytearray", "msgpack"})
FILE_MODE = 0o600  # the database, and so its WAL and shared-memory files, which SQLite creates alike
WAL_PAGES = 256  # 1 MiB of 4 KiB pages
WAL_BYTES = 1 << 20
_refused: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("refused", default=None)


def _note_refusal(event: SerdeEvent) -> None:
    """Record a type LangGraph's strict loader refused, for the load running in this context."""
    refused = _refused.get()
    if refused is not None and event["kind"] in ("msgpack_blocked", "msgpack_method_blocked"):
        method = f".{event['method']}" if "method" in event else ""
        refused.append(f"{event['module']}.{event['name']}{method}")


@functools.cache
def _listen_for_refusals() -> None:
    """Register the refusal listener once per process (a second one in a race only repeats names)."""
    register_serde_event_listener(_note_refusal)


class StrictSerializer(JsonPlusSerializer):
    """JsonPlusSerializer in strict msgpack mode that raises instead of loading a refused type's raw data.

    LangGraph's strict mode only logs a blocked type and returns its arguments; a state silently
    missing a value is no better, so a refusal becomes CheckpointRejected.
    """

    def __init__(self) -> None:
        super().__init__(allowed_msgpack_modules=STATE_TYPES or None)  # None: strict, SAFE_MSGPACK_TYPES only
        _listen_for_refusals()

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Load one stored value; CheckpointRejected if it holds anything the state never holds."""
        if data[0] not in ROW_TYPES:
            raise CheckpointRejected(f"a stored value has serialization type {data[0]!r}, which is never written")
        refused: list[str] = []
        token = _refused.set(refused)
        try:
            value = super().loads_typed(data)
        finally:
            _refused.reset(token)
        if refused:
            raise CheckpointRejected(f"it holds {', '.join(sorted(set(refused)))}, a type the state never holds")
        return value


class SessionCheckpoints(BaseCheckpointSaver[str]):
    """What both savers add: a refused checkpoint names its session (thread)."""

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The latest (or the configured) checkpoint; a refused one names its session."""
        with _naming_session(config):
            found = super().get_tuple(config)
            return None if found is None else self.loaded(found)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """The checkpoints matching ``config``; a refused one names its session."""
        with _naming_session(config):
            yield from map(self.loaded, super().list(config, filter=filter, before=before, limit=limit))

    def loaded(self, found: CheckpointTuple) -> CheckpointTuple:
        """A loaded checkpoint as the graph gets it; a saver that stores a channel apart puts it back here."""
        return found


@contextlib.contextmanager
def _naming_session(config: RunnableConfig | None) -> Iterator[None]:
    """Add the session (thread) id to a CheckpointRejected raised inside."""
    try:
        yield
    except CheckpointRejected as exc:
        session = (config or {}).get("configurable", {}).get("thread_id", "?")
        raise CheckpointRejected(f"the saved state of session {session} is refused: {exc}") from None


class SessionSqliteSaver(SessionCheckpoints, RevisionRows):
    """SqliteSaver with strict loading, the revision tree as rows written once (``graphs.storage.revision_rows``)
    and ``prune`` (keep each thread's latest checkpoint, or delete it).
    """

    def loaded(self, found: CheckpointTuple) -> CheckpointTuple:
        """The checkpoint with its revisions read back from their rows."""
        return self.filled(found)

    def before_put(self, key: tuple[str, str], checkpoint_id: str) -> None:
        """Drop the thread's older checkpoints (and their writes) in the transaction that writes the next one.

        What ``prune`` does after a turn, without a commit (and an fsync) of its own; the latest
        checkpoint's writes stay, so an interrupt awaiting its answer, or a task's saved writes, survive.
        """
        self.conn.execute(_OLDER_THAN, (*key, checkpoint_id))
        # Only the dropped checkpoints' writes: an async run may save a task's writes just before the
        # checkpoint they belong to (LangGraph's background puts), so "no checkpoint yet" is not orphaned.
        self.conn.execute(_WRITES_OLDER_THAN, (*key, checkpoint_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Drop all but the latest checkpoint of each thread and namespace, with the writes of the dropped ones.

        The latest checkpoint keeps its pending writes, so an interrupt awaiting a resume survives.
        """
        if isinstance(thread_ids, str):
            raise TypeError("thread_ids must be a sequence of thread IDs, not a str")
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy: {strategy!r}")
        with self.cursor() as cur:
            for thread_id in map(str, thread_ids):
                if strategy == "delete":
                    cur.execute("DELETE FROM checkpoints WHERE thread_id = ?", (thread_id,))
                    cur.execute("DELETE FROM revision_rows WHERE thread_id = ?", (thread_id,))
                    self.forget(thread_id)
                else:
                    cur.execute(_OLDER_CHECKPOINTS, (thread_id,))
                cur.execute(_ORPHAN_WRITES, (thread_id,))


# Checkpoint ids are uuid6, ordered by time as text: the latest is the greatest, as get_tuple reads it.
_OLDER_CHECKPOINTS = """
    DELETE FROM checkpoints WHERE thread_id = ?1 AND checkpoint_id < (
        SELECT max(c.checkpoint_id) FROM checkpoints c
        WHERE c.thread_id = ?1 AND c.checkpoint_ns = checkpoints.checkpoint_ns)
"""
_OLDER_THAN = "DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ?"
_WRITES_OLDER_THAN = "DELETE FROM writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ?"
_ORPHAN_WRITES = """
    DELETE FROM writes WHERE thread_id = ?1 AND NOT EXISTS (
        SELECT 1 FROM checkpoints c WHERE c.thread_id = ?1
        AND c.checkpoint_ns = writes.checkpoint_ns AND c.checkpoint_id = writes.checkpoint_id)
"""


def keep_latest(checkpointer: object, thread_id: str) -> None:
    """Drop a thread's checkpoints older than its latest, where the checkpointer can prune.

    Pruning is housekeeping after a saved turn: if it fails the turn still stands, the failure is
    logged and the next turn prunes again.
    """
    if not isinstance(checkpointer, BaseCheckpointSaver):
        return
    try:
        checkpointer.prune([thread_id], strategy="keep_latest")
    except NotImplementedError:  # e.g. the in-memory saver of tests
        return
    except Exception:  # the boundary of housekeeping: a lock conflict or a lost connection must not fail a turn
        logger.warning("could not prune the checkpoints of session %s", thread_id, exc_info=True)


def sqlite_checkpointer(path: str | Path, *, timeout_s: float = 5.0) -> SqliteSaver:
    """A SQLite checkpointer on ``path`` (created 0600 if missing), usable from worker threads.

    A write waits at most ``timeout_s`` for another process's lock, then raises "database is locked".
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _private_file(path)
    # SqliteSaver serialises access with its own lock, so sharing the connection across threads is safe.
    conn = sqlite3.connect(path, check_same_thread=False, timeout=timeout_s)
    conn.execute("PRAGMA journal_mode=WAL")
    # Copy the WAL into the database every WAL_PAGES pages and cut it back to WAL_BYTES then: the
    # default (1,000 pages, never truncated) leaves the WAL at its largest size for good.
    conn.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
    conn.execute(f"PRAGMA journal_size_limit={WAL_BYTES}")
    saver = SessionSqliteSaver(conn, serde=StrictSerializer())
    saver.setup()
    return saver


def _private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only, or make an existing one (and its WAL and SHM) so."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    for existing in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if existing.exists() and existing.stat().st_mode & 0o777 != FILE_MODE:
            existing.chmod(FILE_MODE)


def postgres_checkpointer(
    url: str, *, max_connections: int = 4, timeout_s: float = 10.0
) -> tuple[BaseCheckpointSaver[str], Callable[[], None]]:
    """A Postgres checkpointer on ``url`` (tables created if missing) and the function that closes it.

    Needs the ``postgres`` extra (langgraph-checkpoint-postgres, psycopg, psycopg-pool). Connections
    come from a pool, so worker threads of the service never share one connection mid-query. Waiting
    for a pooled connection, or for a new one, is bounded by ``timeout_s`` (PoolTimeout, not 30 s
    of hanging, when the server is down).
    """
    try:
        from psycopg import Connection
        from psycopg import Error as PostgresError
        from psycopg.rows import DictRow, dict_row
        from psycopg_pool import ConnectionPool, PoolTimeout

        from graphs.storage.postgres_revisions import PostgresRevisionRows
    except ImportError as exc:
        raise MissingExtra(f"a Postgres checkpoint URL is configured but {exc.name} is missing", "postgres") from None

    class SessionPostgresSaver(SessionCheckpoints, PostgresRevisionRows):
        """PostgresSaver (whose own ``prune`` keeps the latest checkpoint) with strict loading and the revision
        tree as rows written once (``graphs.storage.postgres_revisions``).
        """

        def loaded(self, found: CheckpointTuple) -> CheckpointTuple:
            """The checkpoint with its revisions read back from their rows (or moved there, if saved inline)."""
            return self.filled(found)

    # The connection settings PostgresSaver.from_conn_string uses: it relies on autocommit and dict rows.
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    kwargs["connect_timeout"] = max(2, round(timeout_s))
    pool = ConnectionPool(
        url,
        connection_class=Connection[DictRow],
        min_size=1,
        max_size=max_connections,
        kwargs=kwargs,
        open=False,
        timeout=timeout_s,
        check=ConnectionPool.check_connection,  # a connection the server dropped is replaced, not handed out
    )
    try:
        # One connection first: when the pool cannot connect it only logs why and times out.
        Connection.connect(url, connect_timeout=max(2, round(timeout_s))).close()
        pool.open(wait=True, timeout=timeout_s)
        saver = SessionPostgresSaver(pool, serde=StrictSerializer())
        saver.setup()
    except (PoolTimeout, PostgresError) as exc:
        pool.close()
        raise StateStoreUnavailable(f"cannot use the Postgres checkpointer at {redacted(url)}: {exc}") from None
    return saver, pool.close
