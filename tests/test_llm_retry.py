"""The one retry layer (issue 14 item 16): 429 and 5xx retried, Retry-After honoured, all within the turn."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from agent.session.session import Session
from tests.openai_server import OpenAIServer, calls, error

pytest.importorskip("langchain_openai")

MIRROR = calls(("mirror", {"instruction": "mirror the image"}))


def busy(**headers: str) -> object:
    """A vLLM-shaped 429."""
    return error(429, "Too many requests", "RateLimitError", **headers)


@pytest.mark.parametrize("fault", [busy(Retry_After="0"), error(503, "Service Unavailable", "ServiceUnavailableError")])
def test_transient_faults_are_retried_until_the_edit_is_made(llm_session: Callable[..., Session], tool, fault):
    with OpenAIServer([fault, fault, MIRROR]) as server:
        reply = llm_session(server.url, llm_max_retries=3, confirm="never").send("mirror it")
        assert reply.action == "edit" and reply.error is None and len(server.chat_requests) == 3
        assert len(tool.calls) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry_After": "30"},
        {"retry_after_ms": "30000"},
        {"Retry_After": format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)},
    ],
)
def test_a_retry_after_past_the_turn_deadline_is_not_cut_short(llm_session: Callable[..., Session], tool, headers):
    # The server asks for more time than the turn has left: retrying sooner would ignore it, so the
    # turn ends at once with the busy message and a second request is never sent.
    with OpenAIServer([busy(**headers), MIRROR]) as server:
        session = llm_session(server.url, llm_max_retries=3, llm_turn_timeout_s=5, confirm="never")
        reply = session.send("mirror it")
        assert "busy" in reply.text and "Nothing was changed" in reply.text
        assert len(server.chat_requests) == 1 and not tool.calls and len(reply.revisions) == 1


def test_a_short_retry_after_is_waited_for_then_retried(llm_session: Callable[..., Session], tool):
    # Same fault and turn time as above, only the asked wait fits the turn: so the header decided.
    with OpenAIServer([busy(Retry_After="0.2"), MIRROR]) as server:
        session = llm_session(server.url, llm_max_retries=3, llm_turn_timeout_s=5, confirm="never")
        reply = session.send("mirror it")
        assert reply.action == "edit" and len(server.chat_requests) == 2 and len(tool.calls) == 1


def test_retries_stop_at_the_configured_count(llm_session: Callable[..., Session], tool):
    with OpenAIServer([busy(Retry_After="0")] * 5) as server:
        reply = llm_session(server.url, llm_max_retries=2, confirm="never").send("mirror it")
        assert "busy" in reply.text and len(server.chat_requests) == 3 and not tool.calls


def test_at_the_defaults_one_model_call_makes_at_most_three_attempts(llm_session: Callable[..., Session], tool):
    with OpenAIServer([busy(Retry_After="0")] * 5) as server:
        reply = llm_session(server.url, confirm="never").send("mirror it")  # DIALOGPAINT_LLM_MAX_RETRIES unset
        assert "busy" in reply.text and len(server.chat_requests) == 3 and not tool.calls
