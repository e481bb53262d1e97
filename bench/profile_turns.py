"""Where a turn's CPU goes as a session grows: each step's CPU ms per turn over the last turns of a session.

Drives one session (embedded policy, CPU tools, SQLite, the bench_storage round) for TURNS messages
and times, in whichever thread runs it (``time.thread_time``), each step of the turns after SKIP:
loading the checkpoint, each node, the model call, trimming the model's context, writing checkpoints
and pending writes, pruning, the transcript insert. Prints one line per step; asserts nothing.
Run: python bench/profile_turns.py [TURNS] [LAST]   (default 1,000 turns, the last 50 timed)
"""

from __future__ import annotations

import functools
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import graphs.graph  # noqa: E402
import graphs.nodes.decide  # noqa: E402
from agent.policy.local import LocalPolicy  # noqa: E402
from agent.session import saved as saved_module  # noqa: E402
from agent.session import session as session_module  # noqa: E402
from agent.settings import Settings  # noqa: E402
from agent.wiring import create_engine  # noqa: E402
from bench.bench_storage import ROUND  # noqa: E402
from graphs.storage import checkpoint  # noqa: E402
from tests.fakes import gradient  # noqa: E402

SPENT: dict[str, float] = defaultdict(float)
ON = threading.Event()
_depth = threading.local()


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` adding its thread CPU time to SPENT[name] while ON (outermost call only)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not ON.is_set() or getattr(_depth, name, 0):
            return fn(*args, **kwargs)
        setattr(_depth, name, 1)
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.thread_time() - start
            setattr(_depth, name, 0)

    return wrapper


def instrument() -> None:
    """Wrap the steps worth naming (those a version lacks are skipped)."""
    saver = checkpoint.SessionSqliteSaver
    for method in ("get_tuple", "put", "put_writes", "prune"):
        setattr(saver, method, timed(f"checkpointer.{method}", getattr(saver, method)))
    LocalPolicy._generate = timed("policy decision", LocalPolicy._generate)  # type: ignore[method-assign]
    decide = graphs.nodes.decide
    decide.trim_history = timed("decide: trim the model's context", decide.trim_history)  # type: ignore[assignment]
    for name in ("dialogue_facts", "system_message"):
        setattr(decide, name, timed(f"decide: {name}", getattr(decide, name)))
    if hasattr(decide, "windowed"):
        decide.windowed = timed("window: move turns to the transcript", decide.windowed)  # type: ignore[attr-defined]
    for module in (session_module, saved_module):
        module.state_reply = timed("session: build the reply", module.state_reply)  # type: ignore[assignment]


def main() -> None:
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    last = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    instrument()
    data_dir = Path(tempfile.mkdtemp()) / "data"
    total = 0.0
    with create_engine(Settings(data_dir=data_dir)) as engine:
        session = engine.open(gradient())
        for turn in range(turns):
            if turn == turns - last:
                ON.set()
            start = time.process_time()
            session.send(ROUND[turn % len(ROUND)])
            if ON.is_set():
                total += time.process_time() - start
    print(f"turns {turns - last + 1}-{turns}: {total / last * 1e3:.2f} ms CPU per turn (all threads)")
    for name, seconds in sorted(SPENT.items(), key=lambda item: -item[1]):
        print(f"  {name:<45} {seconds / last * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
