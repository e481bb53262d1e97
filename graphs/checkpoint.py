"""Checkpointer setup: SQLite in the data directory by default, Postgres when a URL is configured."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from tools.errors import MissingExtra, StateStoreUnavailable


def sqlite_checkpointer(path: str | Path, *, timeout_s: float = 5.0) -> SqliteSaver:
    """A SQLite checkpointer on ``path`` (created if missing), usable from worker threads.

    A write waits at most ``timeout_s`` for another process's lock, then raises "database is locked".
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # SqliteSaver serialises access with its own lock, so sharing the connection across threads is safe.
    conn = sqlite3.connect(path, check_same_thread=False, timeout=timeout_s)
    conn.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


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
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection
        from psycopg import Error as PostgresError
        from psycopg.rows import DictRow, dict_row
        from psycopg_pool import ConnectionPool, PoolTimeout
    except ImportError as exc:
        raise MissingExtra(f"a Postgres checkpoint URL is configured but {exc.name} is missing", "postgres") from None
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
        saver = PostgresSaver(pool)
        saver.setup()
    except (PoolTimeout, PostgresError) as exc:
        pool.close()
        raise StateStoreUnavailable(f"cannot use the Postgres checkpointer at {redacted(url)}: {exc}") from None
    return saver, pool.close


def redacted(url: str) -> str:
    """The URL without its password (in the user part or a ``password=`` parameter), for messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc if parts.password is None else parts.netloc.replace(f":{parts.password}@", ":***@")
    params = parse_qsl(parts.query, keep_blank_values=True)
    if any(key == "password" for key, _ in params):
        query = urlencode([(key, "***" if key == "password" else value) for key, value in params], safe="*")
        parts = parts._replace(query=query)
    return urlunsplit(parts._replace(netloc=netloc))
