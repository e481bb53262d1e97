"""A fleet of dialogue-model servers (DIALOGPAINT_LLM=url1,url2): failover between two loopback servers, and doctor."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from agent.session.session import Session
from tests.openai_server import OpenAIServer, calls, error, free_port, text

pytest.importorskip("langchain_openai")

OpenSession = Callable[..., Session]


def fleet(llm_session: OpenSession, *urls: str) -> Session:
    return llm_session(",".join(urls), llm_max_retries=0, llm_timeout_s=5.0, confirm="never")


def test_a_server_that_is_down_is_passed_over(llm_session, tool) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    with OpenAIServer([calls(("mirror", {"instruction": "mirror it"}))]) as up:
        session = fleet(llm_session, down, up.url)
        reply = session.send("mirror it")
    assert reply.action == "edit" and reply.error is None and len(tool.calls) == 1
    assert len(up.chat_requests) == 1


def test_a_server_failing_mid_session_hands_over_and_is_skipped_while_it_cools_down(llm_session, tool) -> None:
    with (
        OpenAIServer(
            [
                calls(("mirror", {"instruction": "mirror it"})),
                error(503, "Service Unavailable", "ServiceUnavailableError"),
            ]
        ) as first,
        OpenAIServer([text("Answered by the second server."), text("Still the second.")]) as second,
    ):
        session = fleet(llm_session, first.url, second.url)
        assert session.send("mirror it").action == "edit"
        handed_over = session.send("how does it look?")
        assert handed_over.text == "Answered by the second server." and handed_over.error is None
        assert session.send("and now?").text == "Still the second."
        assert len(first.chat_requests) == 2 and len(second.chat_requests) == 2  # the failed one was not retried


def test_a_request_error_is_not_sent_to_the_next_server(llm_session, tool) -> None:
    with OpenAIServer([error(400, "bad request")]) as first, OpenAIServer([]) as second:
        reply = fleet(llm_session, first.url, second.url).send("mirror it")
    assert "HTTP 400" in (reply.error or "") and not second.chat_requests


def test_a_fleet_wholly_down_says_no_server_can_be_reached(llm_session, tool) -> None:
    urls = [f"http://127.0.0.1:{free_port()}/v1" for _ in range(2)]
    reply = fleet(llm_session, *urls).send("mirror it")
    assert reply.error is not None and f"none of the dialogue model servers ({', '.join(urls)})" in reply.error


def test_doctor_checks_every_server_of_the_fleet(tmp_path) -> None:
    from agent.cli.app import app

    down = f"http://127.0.0.1:{free_port()}/v1"
    with OpenAIServer([calls(("undo", {"steps": 2}))], models=("test-model",)) as up:
        env = {"DIALOGPAINT_LLM": f"{up.url},{down}", "DIALOGPAINT_LLM_MODEL": "test-model",
               "DIALOGPAINT_DATA_DIR": str(tmp_path), "DIALOGPAINT_LLM_CONNECT_TIMEOUT_S": "1"}  # fmt: skip
        result = CliRunner().invoke(app, ["doctor"], env=env)
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert [line.split(":")[0] for line in lines[:3]] == [
        "PASS reachable",
        "PASS model listed",
        "PASS tool call (auto mode)",
    ]
    assert lines[-1].startswith("FAIL reachable") and f"127.0.0.1:{down.split(':')[2]}" in lines[-1]
