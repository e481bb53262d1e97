"""Bytes per edit checkpoint and CPU per turn on Postgres, with the revision tree as rows and as it was inline.

One session of TURNS edit messages (default 1,000; embedded policy, CPU tools, confirm never, so every
turn adds a revision) on a real PostgreSQL, once with ``graphs.storage.postgres_revisions`` (rows) and
once with upstream PostgresSaver's put (the list inline in a blob, as 5566914 wrote it). Reported at 10,
100 and 1,000 revisions: the bytes the put that first holds the new revision sends (the checkpoint's
JSON, the blobs of the channels it changes, the new revision rows), the WAL bytes the whole turn made
Postgres write (``pg_current_wal_lsn``, pruning and the transcript included), and this process's CPU
ms per turn (mean of the 8 turns ending there; the Postgres server's own CPU is not in it) at turns
20 and 1,000 with their ratio. Then the mixed round of bench_storage.py (edits, undo, redo, chat) for
CPU per turn with rows. Prints numbers; asserts nothing.
Run: python bench/bench_postgres.py POSTGRES_URL [TURNS]   (scripts/ci-postgres.sh start prints a URL)
"""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from langgraph.checkpoint.postgres import PostgresSaver  # noqa: E402

from agent.settings import Settings  # noqa: E402
from agent.wiring import create_engine  # noqa: E402
from bench.bench_storage import ROUND, cpu_line  # noqa: E402
from graphs.storage.postgres_revisions import PostgresRevisionRows  # noqa: E402
from tests.fakes import gradient  # noqa: E402
from tests.test_revision_rows import EDITS  # noqa: E402

POINTS = (10, 100, 1000)
SENT = """SELECT coalesce((SELECT sum(length(blob)) FROM checkpoint_blobs
    WHERE thread_id = %(t)s AND (channel, version) IN (SELECT * FROM unnest(%(ch)s::text[], %(ver)s::text[]))), 0)
  + (SELECT octet_length(checkpoint::text) + octet_length(metadata::text) FROM checkpoints
    WHERE thread_id = %(t)s AND checkpoint_id = %(id)s)
  + coalesce((SELECT sum(length(revision)) FROM revision_rows WHERE thread_id = %(t)s AND seq >= %(from)s), 0)"""


@contextlib.contextmanager
def measured_puts(url: str, sizes: dict[int, int]) -> Iterator[None]:
    """Record, per revision count, the bytes of the put that first holds that many revisions."""
    original = PostgresRevisionRows.put

    def put(self: PostgresRevisionRows, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        saved = original(self, config, checkpoint, metadata, new_versions)
        revisions = checkpoint["channel_values"].get("revisions")
        if "revisions" in new_versions and isinstance(revisions, list) and len(revisions) not in sizes:
            channels = [k for k in new_versions if k in checkpoint["channel_values"]]
            with psycopg.connect(url) as conn:
                params = {
                    "t": config["configurable"]["thread_id"],
                    "id": checkpoint["id"],
                    "ch": channels,
                    "ver": [str(new_versions[k]) for k in channels],
                    "from": len(revisions) - 1,
                }
                found = conn.execute(SENT, params).fetchone()
            sizes[len(revisions)] = int(found[0]) if found else 0
        return saved

    PostgresRevisionRows.put = put  # type: ignore[method-assign]
    try:
        yield
    finally:
        PostgresRevisionRows.put = original  # type: ignore[method-assign]


@contextlib.contextmanager
def inline_revisions() -> Iterator[None]:
    """The saver as 5566914 shipped it: upstream PostgresSaver's put, lists loaded as they are."""
    put, filled = PostgresRevisionRows.put, PostgresRevisionRows.filled
    PostgresRevisionRows.put = PostgresSaver.put  # type: ignore[method-assign]
    PostgresRevisionRows.filled = lambda self, found: found  # type: ignore[method-assign]
    try:
        yield
    finally:
        PostgresRevisionRows.put, PostgresRevisionRows.filled = put, filled  # type: ignore[method-assign]


def wal(url: str) -> int:
    """Postgres's current WAL position in bytes."""
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
    return int(found[0]) if found else 0


def edits(url: str, turns: int, label: str) -> None:
    """One session of edit turns; bytes of the edit checkpoint, WAL per turn and CPU per turn."""
    sizes: dict[int, int] = {}
    walled: dict[int, int] = {}
    cpu: list[float] = []
    settings = Settings(data_dir=Path(tempfile.mkdtemp()) / "data", confirm="never", checkpoint_url=url)
    started = time.perf_counter()
    with measured_puts(url, sizes), create_engine(settings) as engine:
        session = engine.open(gradient())
        for turn in range(turns):
            position, before = wal(url), time.process_time()
            session.send(EDITS[turn % len(EDITS)])
            cpu.append(time.process_time() - before)
            walled[len(session.revisions)] = wal(url) - position
        engine.delete(session.id)
    shown = ", ".join(
        f"{n} revisions {sizes.get(n, 0) / 1e3:.1f} kB (WAL {walled.get(n, 0) / 1e3:.1f} kB)" for n in POINTS
    )
    print(f"{label}: edit checkpoint at {shown}; {time.perf_counter() - started:.0f} s")
    print(f"{label}: {cpu_line(cpu, (10, 20, 100, 1000))}")


def mixed(url: str, turns: int) -> None:
    """bench_storage.py's round of edits, undo, redo and chat: CPU per turn with the rows."""
    cpu: list[float] = []
    settings = Settings(data_dir=Path(tempfile.mkdtemp()) / "data", checkpoint_url=url)
    with create_engine(settings) as engine:
        session = engine.open(gradient())
        for turn in range(turns):
            before = time.process_time()
            session.send(ROUND[turn % len(ROUND)])
            cpu.append(time.process_time() - before)
        engine.delete(session.id)
    print(f"rows, mixed round: {cpu_line(cpu, (10, 20, 100, 1000))}")


def main() -> None:
    """Both designs on the URL given, then the mixed round."""
    logging.disable(logging.INFO)
    if len(sys.argv) < 2:
        sys.exit(__doc__.rsplit("Run: ", 1)[-1] if __doc__ else "usage: bench_postgres.py URL [TURNS]")
    url, turns = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    edits(url, turns, "rows  ")
    with inline_revisions():
        edits(url, turns, "inline")
    mixed(url, turns)


if __name__ == "__main__":
    main()
