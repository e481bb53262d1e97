"""When the client may send a request again: only where the API says a repeat cannot do the work twice.

- Refusals before any work (``rate_limited``, ``too_many_runs``, ``overloaded``) and connections that
  were never made are safe for every request.
- Reads (GET) and turns sent with an ``Idempotency-Key`` are safe after anything: a repeated turn
  with the same key replays the first turn's reply instead of editing again (agent/session/idempotency.py),
  so a dropped stream, ``session_busy`` (the first run is still finishing) and
  ``state_store_unavailable`` are retried too.
- Undo, redo, uploads and deletes carry no key, so a broken connection after sending them is raised.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from agent.client.errors import ServiceError, Unreachable

REFUSED_BEFORE_WORK = frozenset({"rate_limited", "too_many_runs", "overloaded"})
SAFE_WHEN_IDEMPOTENT = REFUSED_BEFORE_WORK | {"session_busy", "state_store_unavailable"}


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to send a request in all, and how long to wait in between.

    Args:
        attempts: sends in all (1: never retry).
        backoff_s: the first wait when the service gives no Retry-After; doubled each time.
        max_wait_s: the longest single wait, whatever Retry-After says.
    """

    attempts: int = 4
    backoff_s: float = 0.25
    max_wait_s: float = 30.0

    def wait_s(self, attempt: int, error: ServiceError | None) -> float:
        """Seconds to wait before send number ``attempt + 1``."""
        if error is not None and error.retry_after_s is not None:
            return min(error.retry_after_s, self.max_wait_s)
        return min(self.backoff_s * 2.0 ** (attempt - 1), self.max_wait_s)


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)


def may_retry(error: ServiceError, *, idempotent: bool) -> bool:
    """Whether a request that failed with ``error`` may be sent again."""
    if isinstance(error, Unreachable):
        return idempotent or not error.sent
    return error.code in (SAFE_WHEN_IDEMPOTENT if idempotent else REFUSED_BEFORE_WORK)


def transport_error(exc: httpx.TransportError) -> Unreachable:
    """The error for a failed connection; one never made (connect error or timeout) sent nothing."""
    sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
    return Unreachable(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, sent=sent)
