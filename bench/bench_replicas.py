"""Capacity of `dialogpaint serve` replicas on one Postgres and one S3-compatible store (moto's server).

Starts R real replica processes with the embedded default (local policy, CPU tools), then C clients that
each open sessions and send turns, round-robin over the replicas (a session's turns alternate between
them, as behind a load balancer without stickiness). Prints sessions/s and turns/s, in total and per
replica; asserts nothing. Needs a Postgres URL (scripts/ci-postgres.sh start).
Run: python bench/bench_replicas.py --postgres URL [--replicas 1 2] [--clients 4] [--sessions 6] [--turns 4]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.samples import landscape  # noqa: E402
from tools.images import encode_png  # noqa: E402

KEY = "bench-key-0123456789abcdef"
TURNS = ("make it brighter", "add a vignette", "undo", "make it black and white", "redo")
AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_replicas(count: int, env: dict[str, str], work: Path) -> list[tuple[subprocess.Popen[bytes], str]]:
    started = []
    for i in range(count):
        port = free_port()
        argv = [sys.executable, "-m", "agent.cli", "serve", "--port", str(port)]
        data = {"DIALOGPAINT_DATA_DIR": str(work / f"replica-{i}")}
        log = (work / f"replica-{i}.log").open("wb")
        child = subprocess.Popen(argv, cwd=ROOT, env={**env, **data}, stdout=log, stderr=subprocess.STDOUT)
        started.append((child, f"http://127.0.0.1:{port}"))
    for child, url in started:
        deadline = time.monotonic() + 180
        while True:
            assert child.poll() is None and time.monotonic() < deadline, f"replica {url} did not start"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
    return started


def client_work(urls: list[str], png: bytes, sessions: int, turns: int, offset: int) -> tuple[int, int]:
    """Open ``sessions`` sessions and send ``turns`` turns in each, rotating over the replicas."""
    rotation = itertools.cycle(urls[offset % len(urls) :] + urls[: offset % len(urls)])
    headers = {"Authorization": f"Bearer {KEY}"}
    done_turns = 0
    with httpx.Client(headers=headers, timeout=120) as client:
        for _ in range(sessions):
            created = client.post(f"{next(rotation)}/v1/sessions", files={"image": ("in.png", png, "image/png")})
            created.raise_for_status()
            sid = created.json()["id"]
            for text in itertools.islice(itertools.cycle(TURNS), turns):
                response = client.post(f"{next(rotation)}/v1/sessions/{sid}/messages", json={"text": text})
                assert response.status_code == 200 and "event: reply" in response.text, response.text[:300]
                done_turns += 1
    return sessions, done_turns


def run(replicas: int, args: argparse.Namespace, endpoint: str, png: bytes) -> None:
    from graphs.storage.s3_store import S3Location, s3_client

    bucket = f"bench-{secrets.token_hex(4)}"
    s3_client(S3Location(bucket=bucket, endpoint_url=endpoint)).create_bucket(Bucket=bucket)
    env = {
        **os.environ,
        **AWS,
        "PYTHONPATH": str(ROOT),
        "DIALOGPAINT_CHECKPOINT_URL": args.postgres,
        "DIALOGPAINT_S3_BUCKET": bucket,
        "DIALOGPAINT_S3_ENDPOINT_URL": endpoint,
        "DIALOGPAINT_API_KEYS": KEY,
        "DIALOGPAINT_CONFIRM": "never",
        "DIALOGPAINT_RATE_PER_MINUTE": "100000",
        "DIALOGPAINT_RATE_BURST": "10000",
        "DIALOGPAINT_WORK_PER_KEY": "1000",
    }
    with tempfile.TemporaryDirectory() as tmp:
        started = start_replicas(replicas, env, Path(tmp))
        try:
            urls = [url for _, url in started]
            start = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                jobs = [pool.submit(client_work, urls, png, args.sessions, args.turns, i) for i in range(args.clients)]
                totals = [job.result() for job in jobs]
            elapsed = time.perf_counter() - start
        finally:
            for child, _ in started:
                child.terminate()
                child.wait(30)
    sessions = sum(s for s, _ in totals)
    turns = sum(t for _, t in totals)
    print(
        f"replicas={replicas} clients={args.clients}: {sessions} sessions, {turns} turns in {elapsed:.1f}s -> "
        f"{sessions / elapsed:.2f} sessions/s, {turns / elapsed:.2f} turns/s "
        f"({turns / elapsed / replicas:.2f} turns/s per replica)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("DIALOGPAINT_TEST_POSTGRES_URL"))
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--sessions", type=int, default=6, help="sessions per client")
    parser.add_argument("--turns", type=int, default=4, help="turns per session")
    args = parser.parse_args()
    if not args.postgres:
        parser.error("--postgres URL (or DIALOGPAINT_TEST_POSTGRES_URL) is required")
    os.environ.update(AWS)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    png = encode_png(landscape())
    print(json.dumps({"cpus": os.cpu_count(), "load_avg": [round(x, 1) for x in os.getloadavg()]}))
    try:
        for replicas in args.replicas:
            run(replicas, args, f"http://{host}:{port}", png)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
