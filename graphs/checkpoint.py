"""Checkpointer setup: SQLite in the data directory by default, Postgres when a URL is configured."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from tools.errors import MissingExtra, StateStoreUnavailable
from tools.redaction import redacted


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


def postgres_checkpointer(
    url: str, *, max_connections: int = 4, timeout_s: float = 10.0
) -> tuple[BaseCheckpointSaver[str], Callable[[], None]]:
    """A Postgres checkpointer on ``url`` (tables created if missing) and the function that closes it.

    Needs the ``postgres`` extra (langgraph-checkpoint-postgres, psycopg, psycopg-pool). Connections
    come from a pool, so worker threads of the service never share one connection mid-query.
    """
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection
        from psycopg import Error as PostgresError
        from psycopg.rows import DictRow, dict_row
        from psycopg_pool import ConnectionPool, PoolTimeout
    except ImportError as exc:
        raise MissingExtra(f"a Postgres checkpoint URL is configured but {exc.name} is missing", "postgres") from None
    # The connection settings PostgresSaver.from_conn_string uses: it relies on autocommit and dict rows.
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    pool = ConnectionPool(
        url,
        connection_class=Connection[DictRow],
        min_size=1,
        max_size=max_connections,
        kwargs=kwargs,
        open=False,
    )
    try:
        # One connection first: when the pool cannot connect it only logs why and times out.
        Connection.connect(url, connect_timeout=max(2, round(timeout_s))).close()
        pool.open(wait=True, timeout=timeout_s)
        saver = PostgresSaver(pool)
        saver.setup()
    except (PoolTimeout, PostgresError) as exc:
        pool.close()
        raise StateStoreUnavailable(f"cannot use the Postgres checkpointer at {redacted(url)}: {exc}") from None
    return saver, pool.close
