"""Turn success against a model server with transient faults (issue 14 item 16).

The loopback OpenAI server of tests/openai_server.py answers each request with a fault (503, or 429
with Retry-After) with probability P, else a text answer. Prints turn success per fault kind and
retry count; asserts nothing. Run: python bench/bench_retry.py [--turns N] [--fault-rate P]
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.samples import landscape  # noqa: E402
from agent.settings import Settings  # noqa: E402
from agent.wiring import create_engine  # noqa: E402
from tests.openai_server import Completion, Fault, OpenAIServer, error, text  # noqa: E402

FAULTS = {
    "503": lambda: error(503, "Service Unavailable", "ServiceUnavailableError"),
    "429 Retry-After 0.1": lambda: error(429, "Too many requests", "RateLimitError", Retry_After="0.1"),
}


def measure(kind: str, turns: int, rate: float, retries: int, data: Path) -> tuple[float, int, float]:
    """Share of turns answered without error, requests sent, seconds per turn."""
    rng = random.Random(14)

    def step(body: dict[str, object]) -> Completion | Fault:
        return FAULTS[kind]() if rng.random() < rate else text("Hello.")

    with OpenAIServer([step] * (turns * (retries + 2))) as server:
        settings = Settings(data_dir=data, llm=server.url, llm_model="test-model", llm_max_retries=retries)
        with create_engine(settings) as engine:
            session = engine.open(landscape())
            start = time.perf_counter()
            good = sum(session.send(f"hello {n}").error is None for n in range(turns))
            elapsed = time.perf_counter() - start
        return good / turns, len(server.chat_requests), elapsed / turns


def main() -> None:
    """Print one line per fault kind and retry count."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # one warning per retry would drown the figures
    print(f"turns={args.turns} fault_rate={args.fault_rate}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in FAULTS:
            for retries in (1, 3):
                data = Path(tmp) / f"{kind[:3]}-{retries}"
                share, requests, per_turn = measure(kind, args.turns, args.fault_rate, retries, data)
                print(f"{kind:22s} retries={retries} success={share:.1%} requests={requests} s/turn={per_turn:.3f}")


if __name__ == "__main__":
    main()
