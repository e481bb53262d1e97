"""What running a tool through the remote adapter costs over calling it in-process (loopback, uvicorn).

The images are noise, the worst case for PNG: most of the overhead is encoding and decoding PNG.

Prints numbers; asserts nothing. Run: python bench/bench_remote.py
"""

from __future__ import annotations

import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import uvicorn
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.colour import Grayscale  # noqa: E402
from tools.remote import connect_remote_tool  # noqa: E402
from tools.serving import ToolApp  # noqa: E402

SIDES = (256, 512, 1024)
REPEATS = 20


def median_ms(run, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(ToolApp(Grayscale()), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    start = time.perf_counter()
    remote = connect_remote_tool("grayscale", url)
    print(f"connect (GET /v1/tool, rebuild Params): {(time.perf_counter() - start) * 1000:.1f} ms")
    local, params = Grayscale(), remote.Params()
    print("side    in-process   remote   overhead  (grayscale, median of", REPEATS, "runs)")
    for side in SIDES:
        image = Image.effect_noise((side, side), 40).convert("RGB")
        here = median_ms(lambda image=image: local(image, Grayscale.Params(), seed=0))
        there = median_ms(lambda image=image: remote(image, params, seed=0))
        print(f"{side:>4}px  {here:8.1f} ms  {there:6.1f} ms  {there - here:6.1f} ms")
    server.should_exit = True
    thread.join(10)


if __name__ == "__main__":
    main()
