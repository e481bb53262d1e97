"""Storage faults as 503 state_store_unavailable, and the /healthz checks of every part a turn needs.

A locked or full SQLite file, a full or read-only disk and an unreachable Postgres are not bugs: they
pass, and the client should retry, so they are told apart from real errors by their type. /healthz
probes the checkpointer (taking SQLite's write lock, or a Postgres read through the pool), the image
store, and every editing tool that was ready at startup (a tool that breaks later, say on a sticky
CUDA error, reports itself through its ``unavailable_reason()``).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
import sys
from collections.abc import Callable, Mapping
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

from agent.session.engine import Engine
from graphs.storage.store import STORAGE_ERRNOS
from tools.base import EditTool, readiness, unavailable_reason
from tools.errors import StateStoreUnavailable

logger = logging.getLogger(__name__)

PROBE_GRACE_S = 1.0  # a probe's answer may take the store's own timeout (a busy wait) and then some
PROBE = {"configurable": {"thread_id": "healthz-probe", "checkpoint_ns": ""}}


def storage_fault(exc: BaseException) -> StateStoreUnavailable | None:
    """The StateStoreUnavailable that ``exc`` (or an exception it was raised from) stands for, else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if (reason := fault_reason(current)) is not None:
            return StateStoreUnavailable(f"the session store cannot be used now ({reason}); retry later")
        current = current.__cause__ or current.__context__
    return None


def fault_reason(exc: BaseException) -> str | None:
    """A short reason, safe to send (no paths, hosts or credentials), when ``exc`` is a storage fault."""
    if isinstance(exc, StateStoreUnavailable):
        return "checkpoint store unavailable"
    if isinstance(exc, sqlite3.OperationalError):
        return f"SQLite: {exc}"  # "database is locked", "database or disk is full", "disk I/O error"
    if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
        return exc.strerror or errno.errorcode[exc.errno]
    psycopg = sys.modules.get("psycopg")  # only loaded with a Postgres checkpointer
    if psycopg is not None and isinstance(exc, psycopg.OperationalError):
        return "Postgres unreachable"  # PoolTimeout is one too
    return None


def probe_checkpointer(engine: Engine) -> None:
    """Use the checkpointer once: SQLite's write lock is taken and given back, Postgres is read."""
    saver = engine.graph.checkpointer
    if isinstance(saver, SqliteSaver):
        with saver.lock:
            if not saver.conn.in_transaction:
                saver.conn.execute("BEGIN IMMEDIATE")  # waits out the busy timeout if another process writes
                saver.conn.execute("ROLLBACK")
    elif saver is not None and not isinstance(saver, bool):
        saver.get_tuple(PROBE)  # type: ignore[arg-type]


def store_problem(engine: Engine) -> str | None:
    """Why the image store cannot take writes (its optional ``unavailable_reason()``), or None."""
    reason: Callable[[], str | None] | None = getattr(engine.deps.store, "unavailable_reason", None)
    return reason() if callable(reason) else None


async def check(name: str, probe: Callable[[], str | None], timeout_s: float) -> tuple[str, str]:
    """(name, "ok" or why not) for one probe, run in a worker thread and given up after ``timeout_s``."""
    try:
        problem = await asyncio.wait_for(asyncio.to_thread(probe), timeout_s)
    except TimeoutError:
        problem = f"no answer within {timeout_s:g} s"
    except Exception as exc:  # the boundary of a health probe: any failure is the answer
        fault = storage_fault(exc)
        problem = str(fault) if fault else f"{type(exc).__name__}"
        logger.warning("health check %s failed: %r", name, exc)
    return name, problem or "ok"


def tools_readiness(tools: Mapping[str, EditTool], *, detail: bool) -> dict[str, dict[str, Any]]:
    """Every registered tool's readiness now: ready, and when not (with ``detail``) why and what would enable it.

    A tool that was never ready (no weights here) is a capability the service lacks, not a fault:
    it is shown here and never offered to the dialogue model, and /healthz stays healthy. The reasons
    can name local paths, so an unauthenticated /healthz of a service with keys leaves them out.
    """
    found = {name: readiness(tool) for name, tool in tools.items()}
    return {
        name: {"ready": False, "reason": r.reason, "enable": r.enable} if detail and not r.ready else {"ready": r.ready}
        for name, r in found.items()
    }


def tool_probe(tool: EditTool) -> Callable[[], str | None]:
    """The probe of one editing tool: its ``unavailable_reason()``."""
    return lambda: unavailable_reason(tool)


async def health(engine: Engine, ready_tools: Mapping[str, EditTool], timeout_s: float) -> dict[str, Any]:
    """Every check's result; ``healthy`` is whether all of them are ok. ``timeout_s``: the stores' own wait."""

    def checkpointer() -> None:
        probe_checkpointer(engine)

    def images() -> str | None:
        return store_problem(engine)

    probes: dict[str, Callable[[], str | None]] = {"checkpointer": checkpointer, "images": images}
    probes.update({f"tool:{name}": tool_probe(tool) for name, tool in ready_tools.items()})
    results = dict(
        await asyncio.gather(*(check(name, probe, timeout_s + PROBE_GRACE_S) for name, probe in probes.items()))
    )
    return {"healthy": all(result == "ok" for result in results.values()), "checks": results}
