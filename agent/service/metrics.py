"""Prometheus metrics of the service: turns, model-call faults and retries, tool runs, the queue, refusals.

One registry per app (a test builds many apps), served at GET /metrics in Prometheus' text format. The
graph reports tool runs and failed model calls through ``GraphDeps.observer`` (this object); the service
counts turns as they end and every 429 and 503 it answers, by cause.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

TOOL_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)  # CPU tools to diffusion edits


class ServiceMetrics:
    """The service's counters; also the graph's observer (graphs.deps.Observer)."""

    def __init__(self, queue_depth: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.turns = Counter(
            "dialogpaint_turns", "Turns by the action taken and outcome", ["action", "outcome"], registry=r
        )
        self.model_faults = Counter(
            "dialogpaint_model_faults", "Failed dialogue-model calls by kind", ["kind"], registry=r
        )
        self.model_retries = Counter(
            "dialogpaint_model_retries", "Model calls retried after a transient fault", registry=r
        )
        self.tool_seconds = Histogram(
            "dialogpaint_tool_seconds", "Edit time by tool and outcome", ["tool", "outcome"], buckets=TOOL_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.tool_failures = Counter(
            "dialogpaint_tool_failures",
            "Edits that made no revision, by tool and cause",
            ["tool", "outcome"],
            registry=r,
        )
        self.refusals = Counter("dialogpaint_refusals", "429 and 503 answers by cause", ["code"], registry=r)
        queue = Gauge("dialogpaint_queue_runs", "Runs executing or waiting for a work slot", registry=r)
        queue.set_function(queue_depth)

    def tool_ran(self, tool: str, seconds: float, outcome: str) -> None:
        """An edit ended (the graph's observer)."""
        self.tool_seconds.labels(tool, outcome).observe(seconds)
        if outcome != "ok":
            self.tool_failures.labels(tool, outcome).inc()

    def model_fault(self, kind: str, *, retried: bool) -> None:
        """A dialogue-model call failed (the graph's observer)."""
        self.model_faults.labels(kind).inc()
        if retried:
            self.model_retries.inc()

    def turn(self, action: str, outcome: str) -> None:
        """A turn ended: its action (edit, clarify, ...) and outcome (ok, failed, or the error code)."""
        self.turns.labels(action, outcome).inc()

    def refused(self, code: str) -> None:
        """A 429 or 503 went out, for ``code`` (rate_limited, overloaded, state_store_unavailable, ...)."""
        self.refusals.labels(code).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)
