"""HTTP service timings: upload, time to first SSE event, whole turns, undo, and concurrent sessions.

A real uvicorn server on 127.0.0.1 with the embedded default (local policy, CPU tools) on the sample
image. Prints numbers; asserts nothing. Run: python bench/bench_service.py [--turns N] [--sessions N]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.samples import landscape  # noqa: E402
from agent.service.app import create_app  # noqa: E402
from agent.settings import Settings  # noqa: E402
from tools.images import encode_png  # noqa: E402

KEY = "bench-key-0123456789abcdef"
TURNS = ("make it brighter", "add a vignette", "undo", "make it black and white", "redo")


def serve(settings: Settings) -> tuple[uvicorn.Server, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def turn(client: httpx.Client, session: str, text: str) -> tuple[float, float]:
    """(seconds to the first event, seconds to the reply event) for one message."""
    start = time.perf_counter()
    first = replied = None
    with client.stream("POST", f"/v1/sessions/{session}/messages", json={"text": text}) as response:
        for line in response.iter_lines():
            if line.startswith("event:") and first is None:
                first = time.perf_counter() - start
            if line == "event: reply":
                replied = time.perf_counter() - start
    assert first is not None and replied is not None, f"no reply to {text!r}"
    return first, replied


def conversation(base: str, png: bytes, turns: int) -> list[tuple[float, float]]:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client:
        session = client.post("/v1/sessions", files={"image": ("a.png", png, "image/png")}).json()["id"]
        return [turn(client, session, TURNS[i % len(TURNS)]) for i in range(turns)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=4)
    args = parser.parse_args()
    png = encode_png(landscape())
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(data_dir=Path(data), api_keys=KEY, confirm="never", rate_burst=10_000)
        server, base = serve(settings)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}) as client:
            uploads = []
            for _ in range(5):
                start = time.perf_counter()
                client.post("/v1/sessions", files={"image": ("a.png", png, "image/png")}).raise_for_status()
                uploads.append(time.perf_counter() - start)
        timings = conversation(base, png, args.turns)
        firsts, totals = zip(*timings, strict=True)
        print(f"upload 640x432 PNG ({len(png):,} bytes): median {statistics.median(uploads) * 1000:.1f} ms")
        print(f"one session, {args.turns} turns: first SSE event median {statistics.median(firsts) * 1000:.1f} ms,")
        print(f"  reply event median {statistics.median(totals) * 1000:.1f} ms, max {max(totals) * 1000:.1f} ms")
        start = time.perf_counter()
        with ThreadPoolExecutor(args.sessions) as pool:
            runs = list(pool.map(lambda _: conversation(base, png, args.turns), range(args.sessions)))
        wall = time.perf_counter() - start
        count = sum(len(r) for r in runs)
        print(f"{args.sessions} sessions at once, {count} turns: {count / wall:.1f} turns/s (work_slots=2)")
        server.should_exit = True


if __name__ == "__main__":
    main()
