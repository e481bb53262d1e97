"""One run per session across processes and machines: Postgres advisory locks, beside the Postgres
checkpointer every replica already shares.

Each replica keeps one autocommit connection and takes ``pg_try_advisory_lock`` on a 64-bit hash of
the session id for as long as a run holds the session, so a second replica's attempt fails at once
(SessionBusy, 409 at the HTTP edge) instead of waiting. Postgres releases a session-level advisory
lock when its connection ends, so a replica that is killed mid-turn frees its sessions by dying;
the next replica to take one finishes the cut-short run (Session.finish_interrupted). Holds are
counted per process: the service takes the lock when it accepts a run and the Session takes it again
when the run starts, on the same connection. Cost: one round trip per take and per release, on one
connection per replica (not one per run, so queued runs cost no connections). If that connection
breaks while a run holds a lock, the lock is gone with it: the run goes on unprotected, which is
logged, and a later take reconnects.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from tools.errors import DialogPaintError, StateStoreUnavailable
from tools.redaction import redacted

logger = logging.getLogger(__name__)


class SessionBusyElsewhere(DialogPaintError, RuntimeError):
    """Another process or machine is handling a message in the session (agent.session maps it to SessionBusy)."""


class SharedLock(Protocol):
    """A lock per session id that other processes respect; re-entrant within one process."""

    def acquire(self, session_id: str) -> None:
        """Take the session's lock; SessionBusyElsewhere if another process holds it."""

    def release(self, session_id: str) -> None:
        """Give back one take of the session's lock."""

    def close(self) -> None:
        """Release everything this process holds."""


def lock_id(session_id: str) -> int:
    """The advisory lock key of a session: a signed 64-bit hash of its id (collisions cost a false 409)."""
    digest = hashlib.sha256(f"dialogpaint-session:{session_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresSessionLock:
    """Session locks as Postgres session-level advisory locks on one connection per process."""

    def __init__(self, url: str, timeout_s: float) -> None:
        """Lock through the database at ``url``; connects and queries within ``timeout_s``."""
        self.url = url
        self.timeout_s = timeout_s
        self._mutex = threading.Lock()  # one statement at a time on the connection
        self._held: dict[str, int] = {}  # session id -> takes in this process
        self._conn: Any = None

    def acquire(self, session_id: str) -> None:
        """Take the lock, or count one more take if this process holds it."""
        with self._mutex:
            if session_id in self._held:
                self._held[session_id] += 1
                return
            if not self._query("SELECT pg_try_advisory_lock(%s)", lock_id(session_id)):
                raise SessionBusyElsewhere(f"session {session_id} is handling a message on another replica")
            self._held[session_id] = 1

    def release(self, session_id: str) -> None:
        """Give back one take; the last one unlocks."""
        with self._mutex:
            left = self._held.get(session_id, 0) - 1
            if left > 0:
                self._held[session_id] = left
                return
            self._held.pop(session_id, None)
            try:
                if not self._query("SELECT pg_advisory_unlock(%s)", lock_id(session_id)):
                    logger.warning("session %s: its lock was lost with a broken connection", session_id)
            except StateStoreUnavailable:
                logger.warning("session %s: could not unlock; the broken connection released it", session_id)

    @contextmanager
    def hold(self, session_id: str) -> Iterator[None]:
        """Hold the lock for a block."""
        self.acquire(session_id)
        try:
            yield
        finally:
            self.release(session_id)

    def close(self) -> None:
        """Close the connection, which releases every lock it holds."""
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
            self._conn, self._held = None, {}

    def _query(self, sql: str, key: int) -> bool:
        import psycopg

        try:
            conn = self._connection()
            row = conn.execute(sql, (key,)).fetchone()
        except psycopg.OperationalError as exc:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            raise StateStoreUnavailable(f"cannot lock sessions in Postgres at {redacted(self.url)}: {exc}") from None
        return bool(row[0])

    def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            if self._held:
                logger.warning("reconnecting the session lock; %d held locks were lost", len(self._held))
            millis = int(self.timeout_s * 1000)
            self._conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=max(1, round(self.timeout_s)),
                options=f"-c statement_timeout={millis}",
                keepalives=1,
                keepalives_idle=30,
            )
        return self._conn
