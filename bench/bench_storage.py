"""CPU per turn as a session grows, and its bytes on disk per turn (embedded policy, CPU tools, SQLite).

One session of TURNS messages (default 1,000) in one process: the CPU time of each turn (all threads,
``time.process_time``), reported at turns 10, 20, 100 and 1,000 as the mean of the 8 turns ending there
(one round of ROUND, so every point has the same mix of edits, undos and chat), the ratio of turn
1,000 to turn 20 (target <= 1.3x), and the checkpoint files' bytes per turn (target <= 10 KB), the
transcript table included. Prints numbers; asserts nothing. The sizes are the files as they are
(database, WAL and shared-memory index, no VACUUM), so freed pages that SQLite keeps for reuse count too.
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
    cpu: list[float] = []
    with create_engine(Settings(data_dir=data_dir)) as engine:
        session = engine.open(gradient())
        for turn in range(turns):
            before = time.process_time()
            session.send(ROUND[turn % len(ROUND)])
            cpu.append(time.process_time() - before)
            peak = max(peak, files_bytes(data_dir)[0])
        revisions = len(session.revisions)
        checkpoints, images = files_bytes(data_dir)  # while open: the WAL is still there
        transcript = len(session.messages()) - len(session.state()["messages"])
    seconds = time.perf_counter() - started
    closed = files_bytes(data_dir)[0]
    with sqlite3.connect(data_dir / "sessions.sqlite") as conn:
        rows = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
    print(
        f"{turns:>5} turns: checkpoint files {checkpoints / 1e6:7.2f} MB open ({checkpoints / turns:7.0f} B/turn), "
        f"{peak / 1e6:7.2f} MB at most, {closed / 1e6:7.2f} MB closed; {rows} checkpoints kept, "
        f"{revisions} revisions, images {images / 1e3:.1f} kB; {seconds:.1f} s; {transcript} messages in the transcript"
    )
    print(f"{turns:>5} turns: {cpu_line(cpu)}; disk {closed / turns:.0f} B/turn closed (target <= 10,000)")


def cpu_line(cpu: list[float], points: tuple[int, ...] = (10, 20, 100, 1000)) -> str:
    """CPU ms per turn at each point (mean of the 8 turns ending there) and the ratio of the last to turn 20."""
    at = {n: sum(cpu[n - 8 : n]) / 8 * 1e3 for n in points if n <= len(cpu)}
    shown = ", ".join(f"turn {n} {ms:.1f}" for n, ms in at.items())
    last = max(at)
    ratio = f"; turn {last} / turn 20: {at[last] / at[20]:.2f}x (target <= 1.3x)" if 20 in at and last > 20 else ""
    return f"CPU ms per turn: {shown}{ratio}"


def main() -> None:
    """Run the sizes asked for on the command line, or 10, 100 and 1,000 turns."""
    for turns in [int(arg) for arg in sys.argv[1:]] or [1000]:
        run(turns)


if __name__ == "__main__":
    main()
