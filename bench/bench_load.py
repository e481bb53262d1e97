"""Load over HTTP: many sessions of many turns against a real `dialogpaint serve` on 127.0.0.1.

The embedded default (local policy, CPU tools) with the default limits: every session is one user
with its own API key. Prints errors by code, lost and duplicated revisions, p50/p99 turn latency and
throughput; then, against a server with one slot and no queue, how fast a full queue answers 503.
Asserts nothing. Run: python bench/bench_load.py [--sessions 50] [--turns 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.samples import landscape  # noqa: E402
from tools.images import encode_png  # noqa: E402

TURNS = ("make it brighter", "add a vignette", "undo", "make it black and white", "redo")


@dataclass
class Tally:
    """What the clients saw."""

    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    announced: dict[str, list[str]] = field(default_factory=dict)  # session -> revision ids from SSE


@contextmanager
def serve(data: Path, keys: list[str], **env: str) -> Any:
    """`dialogpaint serve` in a subprocess on a free port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "DIALOGPAINT_DATA_DIR": str(data)}
    environ |= {"DIALOGPAINT_API_KEYS": ",".join(keys), **{f"DIALOGPAINT_{k.upper()}": v for k, v in env.items()}}
    command = [sys.executable, "-c", "from agent.cli import main; main()", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(60)


async def turn(client: httpx.AsyncClient, key: str, sid: str, text: str, tally: Tally) -> None:
    """One message (and its confirmation, if the policy asks), timed to the reply event."""
    headers = {"Authorization": f"Bearer {key}"}
    path, body = f"/v1/sessions/{sid}/messages", {"text": text}
    start = time.perf_counter()
    for _ in range(2):  # the message, then at most one confirmation
        async with client.stream("POST", path, json=body, headers=headers) as response:
            if response.status_code != 200:
                tally.errors[f"{response.status_code} {(await response.aread()).decode()[:60]}"] += 1
                return
            event, action = "", ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "revision":
                    tally.announced[sid].append(line.split('"id": "', 1)[1].split('"', 1)[0])
                elif line.startswith("data: ") and event in ("reply", "error"):
                    action = line.split('"action": "', 1)[1].split('"', 1)[0] if event == "reply" else "error"
                    if event == "error":
                        tally.errors[f"error event {line[6:80]}"] += 1
        if action != "confirm":
            break
        path, body = f"/v1/sessions/{sid}/confirmation", {"approve": True}
    tally.latencies.append(time.perf_counter() - start)


async def user(client: httpx.AsyncClient, key: str, png: bytes, turns: int, tally: Tally) -> str | None:
    """Upload, then talk; the session id."""
    created = await client.post("/v1/sessions", files={"image": ("a.png", png, "image/png")}, headers=auth(key))
    if created.status_code != 201:
        tally.errors[f"upload {created.status_code}"] += 1
        return None
    sid: str = created.json()["id"]
    tally.announced[sid] = []
    for i in range(turns):
        await turn(client, key, sid, TURNS[i % len(TURNS)], tally)
    return sid


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def audit(client: httpx.AsyncClient, sessions: dict[str, str], tally: Tally) -> tuple[int, int]:
    """(lost, duplicated) revisions: announced but not saved, saved twice or saved unannounced."""
    lost = duplicated = 0
    for sid, key in sessions.items():
        saved = [
            r["id"] for r in (await client.get(f"/v1/sessions/{sid}/revisions", headers=auth(key))).json()["revisions"]
        ]
        edits = saved[1:]  # the upload is the root
        lost += len(set(tally.announced[sid]) - set(edits))
        duplicated += len(edits) - len(set(edits)) + len(set(edits) - set(tally.announced[sid]))
    return lost, duplicated


async def load(base: str, keys: list[str], png: bytes, turns: int) -> None:
    tally = Tally()
    limits = httpx.Limits(max_connections=len(keys) + 10, max_keepalive_connections=len(keys) + 10)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
        start = time.perf_counter()
        sids = await asyncio.gather(*(user(client, key, png, turns, tally) for key in keys))
        wall = time.perf_counter() - start
        sessions = {sid: key for sid, key in zip(sids, keys, strict=True) if sid is not None}
        lost, duplicated = await audit(client, sessions, tally)
    lat = tally.latencies
    print(f"{len(keys)} sessions x {turns} turns: {len(lat)} turns in {wall:.1f} s ({len(lat) / wall:.1f} turns/s)")
    print(f"  turn latency {spread(lat)}")
    print(f"  errors: {sum(tally.errors.values())} {dict(tally.errors) or ''}")
    print(f"  revisions: {sum(map(len, tally.announced.values()))} announced, {lost} lost, {duplicated} duplicated")


async def overload(base: str, keys: list[str], png: bytes, seconds: float) -> None:
    """Keep a one-slot, no-queue server full with clients that retry quickly; time the 503 answers."""
    refused: list[float] = []
    done = 0
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        sids = []
        for key in keys:
            sids.append(
                (await client.post("/v1/sessions", files={"image": ("a.png", png)}, headers=auth(key))).json()["id"]
            )
        end = time.perf_counter() + seconds

        async def hammer(key: str, sid: str) -> None:
            nonlocal done
            while time.perf_counter() < end:
                start = time.perf_counter()
                response = await client.post(
                    f"/v1/sessions/{sid}/messages", json={"text": "make it brighter"}, headers=auth(key)
                )
                if response.status_code == 503:
                    refused.append(time.perf_counter() - start)
                    await asyncio.sleep(0.25)  # a client that backs off a little (Retry-After says 5 s)
                else:
                    done += 1

        await asyncio.gather(*(hammer(key, sid) for key, sid in zip(keys, sids, strict=True)))
    print(f"overload ({len(keys)} clients, work_slots=1, work_queue=0, {seconds:g} s): ", end="")
    print(f"{done} turns served, {len(refused)} refused 503")
    print(f"  503 latency {spread(refused)}")


def spread(seconds: list[float]) -> str:
    """p50, p99 and max of some durations, in milliseconds."""
    if not seconds:
        return "(none)"
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--overload-seconds", type=float, default=10)
    args = parser.parse_args()
    png = encode_png(landscape())
    keys = [f"bench-user-{i:04d}-0123456789" for i in range(args.sessions)]
    with tempfile.TemporaryDirectory() as data, serve(Path(data), keys, confirm="auto") as base:
        asyncio.run(load(base, keys, png, args.turns))
    flood = keys[:10]
    with tempfile.TemporaryDirectory() as data, serve(Path(data), flood, work_slots="1", work_queue="0") as base:
        asyncio.run(overload(base, flood, png, args.overload_seconds))


if __name__ == "__main__":
    main()
