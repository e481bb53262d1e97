"""CPU per turn as a session grows, and its bytes on disk per turn (embedded policy, CPU tools, SQLite).

One session of TURNS messages (default 1,000) in one process: the CPU time of each turn (all threads,
``time.process_time``), reported at turns 10, 20, 100 and 1,000 as the mean of the 8 turns ending there
(one round of ROUND, so every point has the same mix of edits, undos and chat), the ratio of turn
1,000 to turn 20 (target <= 1.3x), and the checkpoint files' bytes per turn (target <= 10 KB), the
transcript table included; then whether the whole transcript reads byte for byte the same through every
history surface (Session, the HTTP route, the MCP resource) before and after a restart (needs the serve
and mcp extras). Prints numbers; asserts nothing. The sizes are the files as they are
(database, WAL and shared-memory index, no VACUUM), so freed pages that SQLite keeps for reuse count too.
Run: python bench/bench_storage.py [TURNS ...]
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.service.auth import DEV_KEY, Principal, new_session_id  # noqa: E402
from agent.settings import Settings  # noqa: E402
from agent.wiring import create_engine  # noqa: E402
from tests.fakes import gradient  # noqa: E402
from tests.test_transcript import surfaces  # noqa: E402

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
    settings = Settings(data_dir=data_dir)
    with create_engine(settings) as engine:
        session = engine.open(gradient(), new_session_id(Principal("dev", DEV_KEY)))  # the surfaces' dev principal
        for turn in range(turns):
            before = time.process_time()
            session.send(ROUND[turn % len(ROUND)])
            cpu.append(time.process_time() - before)
            peak = max(peak, files_bytes(data_dir)[0])
        revisions = len(session.revisions)
        checkpoints, images = files_bytes(data_dir)  # while open: the WAL is still there
        transcript = len(session.messages()) - len(session.state()["messages"])
        before = surfaces(engine, settings, session.id)
    seconds = time.perf_counter() - started
    with create_engine(settings) as engine:  # a restart
        after = surfaces(engine, settings, session.id)
    same = before == after and len({before["http"], before["mcp"], json.dumps(pairs(before["history"]))}) == 1
    print(
        f"{turns:>5} turns: the transcript through Session.messages (serialised), Session.history, the HTTP route "
        f"and the MCP resource is {'byte-identical' if same else 'DIFFERENT'} before and after a restart "
        f"({len(json.loads(before['wire']))} messages, {len(before['http'])} bytes of history)"
    )
    closed = files_bytes(data_dir)[0]
    with sqlite3.connect(data_dir / "sessions.sqlite") as conn:
        rows = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
    print(
        f"{turns:>5} turns: checkpoint files {checkpoints / 1e6:7.2f} MB open ({checkpoints / turns:7.0f} B/turn), "
        f"{peak / 1e6:7.2f} MB at most, {closed / 1e6:7.2f} MB closed; {rows} checkpoints kept, "
        f"{revisions} revisions, images {images / 1e3:.1f} kB; {seconds:.1f} s; {transcript} messages in the transcript"
    )
    print(f"{turns:>5} turns: {cpu_line(cpu)}; disk {closed / turns:.0f} B/turn closed (target <= 10,000)")


def pairs(history: str) -> list[dict[str, str]]:
    """Session.history's JSON as the HTTP and MCP surfaces write it."""
    return [{"role": role, "text": text} for role, text in json.loads(history)]


def cpu_line(cpu: list[float], points: tuple[int, ...] = (10, 20, 100, 1000)) -> str:
    """CPU ms per turn at each point (mean of the 8 turns ending there) and the ratio of the last to turn 20."""
    at = {n: sum(cpu[n - 8 : n]) / 8 * 1e3 for n in points if n <= len(cpu)}
    shown = ", ".join(f"turn {n} {ms:.1f}" for n, ms in at.items())
    last = max(at)
    ratio = f"; turn {last} / turn 20: {at[last] / at[20]:.2f}x (target <= 1.3x)" if 20 in at and last > 20 else ""
    return f"CPU ms per turn: {shown}{ratio}"


def main() -> None:
    """Run the sizes asked for on the command line, or 1,000 turns."""
    logging.disable(logging.INFO)  # the HTTP and MCP clients log every request
    for turns in [int(arg) for arg in sys.argv[1:]] or [1000]:
        run(turns)


if __name__ == "__main__":
    main()
