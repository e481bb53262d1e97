"""Checkpoint bytes on disk per turn at 10, 100 and 1,000 turns (embedded policy, CPU tools, SQLite).

Prints numbers; asserts nothing. The sizes are the files as they are (database, WAL and shared-memory
index, no VACUUM), so freed pages that SQLite keeps for reuse count too.
Run: python bench/bench_storage.py [TURNS ...]
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.settings import Settings  # noqa: E402
from agent.wiring import create_engine  # noqa: E402
from tests.fakes import gradient  # noqa: E402

# One round of what people say: edits, a question, undo and redo, a plain chat line.
ROUND = (
    "make it brighter",
    "flip it horizontally",
    "undo",
    "make it black and white",
    "redo",
    "what can you do?",
    "increase the contrast",
    "undo 2",
)
CHECKPOINT_FILES = ("sessions.sqlite", "sessions.sqlite-wal", "sessions.sqlite-shm")


def files_bytes(data_dir: Path) -> tuple[int, int]:
    """Bytes of the checkpoint files and of the image store under a data directory."""
    checkpoints = sum((data_dir / name).stat().st_size for name in CHECKPOINT_FILES if (data_dir / name).exists())
    images = sum(path.stat().st_size for path in (data_dir / "images").rglob("*") if path.is_file())
    return checkpoints, images


def run(turns: int) -> None:
    """Drive one session for ``turns`` messages and print what its storage takes."""
    data_dir = Path(tempfile.mkdtemp()) / "data"
    started = time.perf_counter()
    peak = 0
    with create_engine(Settings(data_dir=data_dir)) as engine:
        session = engine.open(gradient())
        for turn in range(turns):
            session.send(ROUND[turn % len(ROUND)])
            peak = max(peak, files_bytes(data_dir)[0])
        revisions = len(session.revisions)
        checkpoints, images = files_bytes(data_dir)  # while open: the WAL is still there
    seconds = time.perf_counter() - started
    closed = files_bytes(data_dir)[0]
    with sqlite3.connect(data_dir / "sessions.sqlite") as conn:
        rows = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
    print(
        f"{turns:>5} turns: checkpoint files {checkpoints / 1e6:7.2f} MB open ({checkpoints / turns:7.0f} B/turn), "
        f"{peak / 1e6:7.2f} MB at most, {closed / 1e6:7.2f} MB closed; {rows} checkpoints kept, "
        f"{revisions} revisions, images {images / 1e3:.1f} kB; {seconds:.1f} s"
    )


def main() -> None:
    """Run the sizes asked for on the command line, or 10, 100 and 1,000 turns."""
    for turns in [int(arg) for arg in sys.argv[1:]] or [10, 100, 1000]:
        run(turns)


if __name__ == "__main__":
    main()
