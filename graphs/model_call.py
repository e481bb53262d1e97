"""Calling the dialogue model within the turn's deadline: the one retry layer, for transient faults only."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import ensure_config, merge_configs

from graphs.deps import GraphDeps

logger = logging.getLogger(__name__)

MIN_ATTEMPT_S = 0.05  # below this, an attempt could not finish: the turn is out of time
MAX_BACKOFF_S = 4.0
BASE_BACKOFF_S = 0.25


class TurnDeadlineExceeded(TimeoutError):
    """The turn's time for model calls ran out before the model answered."""


class AnswerCutOff(Exception):
    """The model hit its token limit (finish_reason "length") while making tool calls.

    Not a repair round: the same limit would cut the corrected answer off again.
    """


def invoke_model(
    runnable: Runnable[Any, BaseMessage], prompt: Sequence[BaseMessage], deps: GraphDeps, **kwargs: Any
) -> BaseMessage:
    """Invoke the model, retrying transient faults (``deps.calls``) and never past ``deps.deadline``.

    Each attempt's request timeout is cut to the time left, so the turn ends within its deadline
    however slow the server is.

    Raises:
        TurnDeadlineExceeded: no time was left for an attempt.
        Exception: the client's error of the last attempt, when it is not transient or retries ran out.
    """
    policy = deps.calls
    attempts = 1 + policy.retries
    for attempt in range(1, attempts + 1):
        left = seconds_left(deps)
        if left is not None and left < MIN_ATTEMPT_S:
            raise TurnDeadlineExceeded(f"no time left of the turn's {policy.turn_seconds} s for a model call")
        call_kwargs = dict(kwargs)
        if left is not None and policy.request_timeout is not None:
            call_kwargs["timeout"] = policy.request_timeout(left)
        try:
            return runnable.invoke(list(prompt), guarded_config(deps), **call_kwargs)
        except Exception as exc:
            if attempt == attempts or not policy.transient(exc):
                deps.observer.model_fault(type(exc).__name__, retried=False)
                raise
            delay = retry_delay(attempt, policy.retry_after(exc))
            left = seconds_left(deps)
            if left is not None and left - delay < MIN_ATTEMPT_S:
                deps.observer.model_fault(type(exc).__name__, retried=False)
                raise  # waiting as long as the server asks would end past the turn's deadline
            deps.observer.model_fault(type(exc).__name__, retried=True)
            logger.warning("model call %d/%d failed (%s); retrying in %.2fs", attempt, attempts, exc, delay)
            time.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before retry ``attempt``: the server's Retry-After if it sent one, else full-jitter
    exponential backoff (spreads the retries of many clients hit by the same fault).
    """
    if retry_after is not None:
        return max(0.0, retry_after)  # never cut short: the server said when it can answer
    return random.uniform(0.0, min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2**attempt))


class StreamDeadline(BaseCallbackHandler):
    """Stops a streamed answer at the turn's deadline.

    The read timeout bounds only the gap between two chunks, so a server that keeps trickling tokens
    would otherwise hold the turn for as long as it likes.
    """

    raise_error = True  # langchain logs and swallows a handler's error unless this is set

    def __init__(self, deadline: float, turn_seconds: float | None) -> None:
        self.deadline = deadline
        self.turn_seconds = turn_seconds

    def on_llm_new_token(self, *args: Any, **kwargs: Any) -> None:
        """Raise TurnDeadlineExceeded once a chunk arrives after the deadline."""
        if time.monotonic() >= self.deadline:
            raise TurnDeadlineExceeded(f"the answer was still streaming at the end of the turn's {self.turn_seconds} s")


def guarded_config(deps: GraphDeps) -> RunnableConfig | None:
    """The caller's run config (the graph's stream handlers kept) plus the deadline guard, if any."""
    if deps.deadline is None:
        return None
    return merge_configs(ensure_config(), {"callbacks": [StreamDeadline(deps.deadline, deps.calls.turn_seconds)]})


def seconds_left(deps: GraphDeps) -> float | None:
    """Seconds until the turn's deadline, or None without one."""
    return None if deps.deadline is None else deps.deadline - time.monotonic()
