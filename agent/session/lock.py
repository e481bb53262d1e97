"""One run per session across processes and machines: Postgres advisory locks, beside the Postgres
checkpointer every replica already shares (FileSessionLock: the same for processes on one machine
sharing a SQLite data directory).

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
import os
import secrets
import threading
from pathlib import Path
from typing import Any, Protocol

from tools.errors import DialogPaintError, StateStoreUnavailable
from tools.redaction import redacted

logger = logging.getLogger(__name__)

TOKEN_BYTES = 16  # the holder's mark in a lock file


class SessionBusyElsewhere(DialogPaintError, RuntimeError):
    """Another process or machine is handling a message in the session (``Session`` maps it to SessionBusy)."""


class SharedLock(Protocol):
    """A lock per session id that other processes respect; re-entrant within one process."""

    def acquire(self, session_id: str) -> bool:
        """Take the session's lock; SessionBusyElsewhere if another process holds it.

        Returns whether no other process can have held it since this one last did, so what this
        process remembers of the session is still true (False when that is not known).
        """

    def release(self, session_id: str) -> None:
        """Give back one take of the session's lock."""

    def close(self) -> None:
        """Release everything this process holds."""


def lock_id(session_id: str) -> int:
    """The advisory lock key of a session: a signed 64-bit hash of its id (collisions cost a false 409)."""
    digest = hashlib.sha256(f"dialogpaint-session:{session_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class CountedLocks:
    """A cross-process try-lock per session, counted per process so the same process may take it again."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()  # one take or release at a time
        self._held: dict[str, tuple[int, bool]] = {}  # session id -> (takes in this process, see acquire)

    def acquire(self, session_id: str) -> bool:
        """Take the lock, or count one more take if this process holds it; see ``SharedLock.acquire``."""
        with self._mutex:
            if session_id in self._held:
                takes, unchanged = self._held[session_id]
                self._held[session_id] = (takes + 1, unchanged)
                return unchanged
            taken = self._try(session_id)
            if taken is None:
                raise SessionBusyElsewhere(f"session {session_id} is handling a message in another process")
            self._held[session_id] = (1, taken)
            return taken

    def release(self, session_id: str) -> None:
        """Give back one take; the last one unlocks."""
        with self._mutex:
            takes, unchanged = self._held.get(session_id, (0, False))
            if takes > 1:
                self._held[session_id] = (takes - 1, unchanged)
                return
            self._held.pop(session_id, None)
            self._unlock(session_id)

    def _try(self, session_id: str) -> bool | None:
        """Take the lock if free: None if another process holds it, else whether it is unchanged."""
        raise NotImplementedError

    def _unlock(self, session_id: str) -> None:
        raise NotImplementedError


class PostgresSessionLock(CountedLocks):
    """Session locks as Postgres session-level advisory locks on one connection per process."""

    def __init__(self, url: str, timeout_s: float) -> None:
        """Lock through the database at ``url``; connects and queries within ``timeout_s``."""
        super().__init__()
        self.url = url
        self.timeout_s = timeout_s
        self._conn: Any = None

    def _try(self, session_id: str) -> bool | None:
        # Whether another replica ran a turn since is not recorded: the session rereads its checkpoint.
        return False if self._query("SELECT pg_try_advisory_lock(%s)", lock_id(session_id)) else None

    def _unlock(self, session_id: str) -> None:
        try:
            if not self._query("SELECT pg_advisory_unlock(%s)", lock_id(session_id)):
                logger.warning("session %s: its lock was lost with a broken connection", session_id)
        except StateStoreUnavailable:
            logger.warning("session %s: could not unlock; the broken connection released it", session_id)

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


class FileSessionLock(CountedLocks):
    """Session locks for processes on one machine sharing a SQLite data directory: ``flock`` on a file
    per session, the kernel lock SQLite itself relies on, released by the kernel when a process dies.

    SQLite's own locks cover a whole database, so taking one for a run would serialise every session;
    a lock file per session keeps sessions independent. Each holder writes a fresh token into the
    file when it takes it, so a process that finds its own last token there knows no other process
    ran the session since, and keeps what it remembers (no checkpoint read). The files are tiny and
    stay (removing one that another process has open would let two processes lock different files).
    """

    def __init__(self, directory: Path) -> None:
        """Keep the lock files in ``directory``."""
        super().__init__()
        self.directory = directory
        self._files: dict[str, int] = {}
        self._tokens: dict[str, bytes] = {}  # session id -> the token this process wrote last

    def _try(self, session_id: str) -> bool | None:
        import fcntl

        self.directory.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(session_id.encode()).hexdigest()[:32]
        fd = os.open(self.directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        self._files[session_id] = fd
        unchanged = os.pread(fd, TOKEN_BYTES, 0) == self._tokens.get(session_id)
        token = secrets.token_hex(TOKEN_BYTES // 2).encode()
        os.pwrite(fd, token, 0)
        self._tokens[session_id] = token
        return unchanged

    def _unlock(self, session_id: str) -> None:
        fd = self._files.pop(session_id, None)
        if fd is not None:
            os.close(fd)  # closing the only descriptor releases the flock

    def close(self) -> None:
        """Release every lock this process holds."""
        with self._mutex:
            for fd in self._files.values():
                os.close(fd)
            self._files, self._held = {}, {}
