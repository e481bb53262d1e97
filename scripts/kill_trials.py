"""Kill trials (issue 14): SIGKILL `dialogpaint run` and `dialogpaint serve` at random moments, then check.

Each trial starts the real command on a shared data directory (embedded default: local policy, CPU
tools, SQLite), kills it at a random moment (a random delay into the turns, so mid-edit and
mid-checkpoint; for the server also 0-10 ms right after a ``revision`` SSE event), then opens the
data directory in this process and checks: SQLite ``integrity_check``, every acknowledged revision
still there (a ``run --json`` line printed, or a ``revision`` event received), no revision made twice,
every blob's sha256 equal to its key, and every session usable again: its first call after the crash
is drawn from send, undo, redo and a confirmation answer (issue 25: an undo first used to brick a session),
then a new turn must make an edit. A third kind, --locked, holds the SQLite write lock from another
process while a turn runs (the service answers 503), releases it, and checks the same. Prints the
totals; asserts nothing. Run: python scripts/kill_trials.py --cli 1000 --serve 200 --locked 100
[--budget-s 1500]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.samples import landscape  # noqa: E402
from agent.settings import Settings  # noqa: E402
from agent.wiring import create_engine  # noqa: E402

KEY = "kill-trials-key-0123456789"
TURNS = ("make it brighter", "add a vignette", "make it black and white")
Totals = Counter[str]
FIGURES = (
    "trials", "killed mid-run", "integrity_check failures", "acknowledged revisions", "acknowledged revisions lost",
    "duplicates", "bad blobs", "blobs missing", "stray temp files", "sessions", "first call: send", "first call: undo",
    "first call: redo", "first call: confirm", "sessions usable after their first call",
    "sessions that fail their first call", "sessions that refuse a new turn",
)  # fmt: skip
FIRST_CALLS = ("send", "undo", "redo", "confirm")
HOLD_WRITE_LOCK = (
    "import sqlite3, sys\nconn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "conn.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\nsys.stdin.read()\n"
)
killed = [0]  # trials whose command was killed before it finished on its own


def command(*args: str) -> list[str]:
    """The dialogpaint console script of this interpreter."""
    return [sys.executable, "-c", "from agent.cli import main; main()", *args]


def environment(data: Path) -> dict[str, str]:
    """The child's environment: this checkout, the data directory, no confirmation step."""
    extra = {"PYTHONPATH": str(ROOT), "DIALOGPAINT_DATA_DIR": str(data), "DIALOGPAINT_CONFIRM": "never"}
    return {**os.environ, **extra, "DIALOGPAINT_API_KEYS": KEY}


def cli_trial(data: Path, image: Path, script: Path, rng: random.Random) -> set[str]:
    """Run `dialogpaint run --json`, kill it after a random delay; the heads of the turns it printed."""
    child = subprocess.Popen(
        command("run", str(script), "--image", str(image), "--json"),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment(data), cwd=ROOT, text=True,
    )  # fmt: skip
    timer = threading.Timer(rng.uniform(0.3, 2.5), child.send_signal, [signal.SIGKILL])  # a run takes ~2 s
    timer.start()
    out, _ = child.communicate()
    timer.cancel()
    killed[0] += child.returncode == -signal.SIGKILL
    return {json.loads(line)["head"] for line in out.splitlines() if line.startswith("{")}


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_trial(data: Path, png: bytes, rng: random.Random) -> set[str]:
    """Start `dialogpaint serve`, stream turns, kill it at a random moment; the revisions announced."""
    port = free_port()
    child = subprocess.Popen(
        command("serve", "--port", str(port)), env=environment(data), cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    announced: set[str] = set()
    url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {KEY}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            wait_until_up(client, child)
            after_event = rng.random() < 0.5  # half the trials: kill 0-10 ms after a revision event
            if not after_event:
                threading.Timer(rng.uniform(0.0, 2.0), child.send_signal, [signal.SIGKILL]).start()
            sid = client.post("/v1/sessions", files={"image": ("in.png", png, "image/png")}).json()["id"]
            for text in TURNS:
                with client.stream("POST", f"/v1/sessions/{sid}/messages", json={"text": text}) as response:
                    for line in response.iter_lines():
                        if line.startswith("data:") and '"image_url"' in line:
                            announced.add(json.loads(line[5:])["id"])
                            if after_event:
                                time.sleep(rng.uniform(0.0, 0.01))
                                child.send_signal(signal.SIGKILL)
    except (httpx.HTTPError, KeyError, ValueError):
        pass  # the server died under us: that is the trial
    finally:
        killed[0] += child.poll() is not None  # died before the trial ended: killed mid-run
        child.send_signal(signal.SIGKILL)
        child.wait()
    return announced


def wait_until_up(client: httpx.Client, child: subprocess.Popen[bytes]) -> None:
    """Poll the server until it answers (its imports take seconds on a busy machine)."""
    for _ in range(600):
        if child.poll() is not None:
            raise httpx.ConnectError("the server exited")
        try:
            client.get("/v1/sessions/none")
            return
        except httpx.TransportError:
            time.sleep(0.05)


def check(data: Path, acknowledged: set[str], totals: Totals) -> None:
    """Open the data directory after a kill and count what is wrong; every session gets one new turn."""
    settings = Settings(data_dir=data, confirm="never")
    if not settings.checkpoint_path.exists():
        return
    with sqlite3.connect(settings.checkpoint_path) as db:
        totals["integrity_check failures"] += db.execute("PRAGMA integrity_check").fetchone()[0] != "ok"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        # Killed before the checkpointer made its tables: a valid, empty database.
        query = "SELECT DISTINCT thread_id FROM checkpoints" if "checkpoints" in tables else "SELECT 1 WHERE 0"
        threads = [row[0] for row in db.execute(query)]
    files = list(settings.images_dir.glob("*/*"))  # pathlib's glob includes dot files
    blobs = [p for p in files if not p.name.startswith(".tmp-")]  # FileImageStore.put's temp files
    totals["bad blobs"] += sum(hashlib.sha256(p.read_bytes()).hexdigest() != p.stem for p in blobs)
    totals["stray temp files"] += len(files) - len(blobs)  # a write killed before its rename: never referenced
    seen: set[str] = set()
    with create_engine(settings) as engine:
        for thread in threads:
            session = engine.resume(thread)
            totals["sessions"] += 1
            first = FIRST_CALLS[totals["sessions"] % len(FIRST_CALLS)]
            totals[f"first call: {first}"] += 1
            try:
                first_call(session, first)
            except Exception as exc:  # a trial's finding, not a crash of the harness
                totals["sessions that fail their first call"] += 1
                totals[f"  failed with {type(exc).__name__}"] += 1
            try:
                reply = session.send("sharpen it")  # nor this
                usable = reply.error is None and reply.action in ("edit", "confirm")
                totals["sessions usable after their first call"] += usable
            except Exception:
                totals["sessions that refuse a new turn"] += 1
                continue
            revisions = session.revisions
            seen |= {r["id"] for r in revisions}
            recipes = Counter((r["parent"], r["tool"], json.dumps(r["params"], sort_keys=True)) for r in revisions)
            totals["duplicates"] += sum(n - 1 for n in recipes.values())
            totals["blobs missing"] += sum(r["image"] not in engine.deps.store for r in revisions)
    totals["acknowledged revisions"] += len(acknowledged)
    totals["acknowledged revisions lost"] += len(acknowledged - seen)


def first_call(session: Any, kind: str) -> None:
    """The first call after the crash: a message, an undo, a redo, or the answer to a confirmation."""
    if kind == "undo":
        session.undo()
    elif kind == "redo":
        session.redo()
    elif kind == "confirm" and session.confirmation() is not None:
        session.send("yes")
    else:
        session.send("apply a sepia tone")  # not among TURNS, so it cannot pass for a duplicate


def locked_trial(data: Path, image: Path, rng: random.Random) -> set[str]:
    """Open a session and make an edit, then send a turn while another process holds the write lock."""
    settings = Settings(data_dir=data, confirm="never", state_store_timeout_s=0.3)
    acknowledged: set[str] = set()
    with create_engine(settings) as engine:
        session = engine.open(image)
        if rng.random() < 0.5:  # half the sessions are new: their first message meets the lock
            acknowledged |= {r["id"] for r in session.send("make it black and white").revisions}
        holder = [sys.executable, "-c", HOLD_WRITE_LOCK, str(settings.checkpoint_path)]
        with subprocess.Popen(holder, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as other:
            assert other.stdout is not None and other.stdout.readline() == "locked\n"
            try:
                session.send(rng.choice(TURNS))
            except Exception:  # the refusal a 503 reports: the turn is lost, nothing else may be
                killed[0] += 1  # counted as 'killed mid-run': the turn did not finish
            other.communicate("")
    return acknowledged


def trials(kind: str, count: int, deadline: float, rng: random.Random) -> Totals:
    """Run up to ``count`` trials of one kind (each on a fresh data directory) before ``deadline``."""
    totals: Totals = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        image, script = Path(tmp) / "in.png", Path(tmp) / "turns.txt"
        landscape().save(image)
        script.write_text("\n".join(TURNS) + "\n", encoding="utf-8")
        png = image.read_bytes()
        for number in range(count):
            if time.monotonic() > deadline:
                break
            data = Path(tmp) / f"data-{number}"
            if kind == "locked":
                acknowledged = locked_trial(data, image, rng)
            else:
                acknowledged = cli_trial(data, image, script, rng) if kind == "cli" else serve_trial(data, png, rng)
            check(data, acknowledged, totals)
            totals["trials"] += 1
    totals["killed mid-run"], killed[0] = killed[0], 0
    return totals


def main() -> None:
    """Print one block of totals per command."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cli", type=int, default=1000)
    parser.add_argument("--serve", type=int, default=200)
    parser.add_argument("--locked", type=int, default=100, help="Trials with the store locked mid-turn.")
    parser.add_argument("--budget-s", type=float, default=1500, help="Stop starting trials after this.")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    start = time.monotonic()
    weight = max(1, args.cli + 4 * args.serve + args.locked)  # a server trial costs about four CLI trials
    for kind, count, until in (
        ("cli", args.cli, start + args.budget_s * args.cli / weight),
        ("serve", args.serve, start + args.budget_s * (args.cli + 4 * args.serve) / weight),
        ("locked", args.locked, start + args.budget_s),
    ):
        began = time.monotonic()
        totals = trials(kind, count, until, rng)
        print(f"dialogpaint {kind}: {time.monotonic() - began:.0f} s")
        for name in FIGURES:
            print(f"  {name}: {totals[name]}")
        for name in sorted(n for n in totals if n.startswith("  failed with")):
            print(f"  {name}: {totals[name]}")


if __name__ == "__main__":
    main()
