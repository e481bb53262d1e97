"""Prometheus metrics on the service (issue 25 item 9): each fault moves its counter."""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from agent.service.metrics import ServiceMetrics
from graphs.deps import GraphDeps, ModelCalls
from graphs.model_call import invoke_model
from tests.fakes import MemoryImageStore, RecordingTool, ScriptedChatModel, ai, call
from tests.service_helpers import KEY_A, auth, send, upload
from tests.test_service import mirror_call, service  # noqa: F401 (the fixture)


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))  # the format sorts label names
    pattern = rf"^{re.escape(name)}{{{re.escape(wanted)}}} (\S+)$" if labels else rf"^{re.escape(name)} (\S+)$"
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


class Crashing(RecordingTool):
    name = "crash"

    def __call__(self, image: Any, params: Any, *, seed: int, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the tool")


def test_turns_tool_runs_refusals_and_the_queue_are_counted(service):  # noqa: F811
    script = [mirror_call(), ai(call("crash", instruction="crash it"))]
    tools = {"mirror": RecordingTool(), "crash": Crashing()}
    client = service(script, rate_burst=4, rate_per_minute=0.01, tools=tools)
    sid = upload(client, KEY_A).json()["id"]
    assert send(client, KEY_A, sid, "mirror it")[-1]["data"]["action"] == "edit"
    assert send(client, KEY_A, sid, "crash it")[-1]["data"]["error"]
    limited = [client.post(f"/v1/sessions/{sid}/undo", headers=auth(KEY_A)).status_code for _ in range(3)]
    assert 429 in limited
    text = client.get("/metrics").text
    assert sample(text, "dialogpaint_turns_total", action="edit", outcome="ok") == 1
    assert sample(text, "dialogpaint_turns_total", action="edit", outcome="failed") == 1
    assert sample(text, "dialogpaint_tool_seconds_count", tool="mirror", outcome="ok") == 1
    assert sample(text, "dialogpaint_tool_failures_total", tool="crash", outcome="crashed") == 1
    assert sample(text, "dialogpaint_refusals_total", code="rate_limited") == limited.count(429)
    assert sample(text, "dialogpaint_queue_runs") == 0  # nothing running now
    assert sid not in text and "mirror it" not in text  # counts only


def test_model_faults_and_retries_are_counted():
    metrics = ServiceMetrics(queue_depth=lambda: 0)
    failures = iter([ConnectionError("reset"), TimeoutError("slow")])

    def flaky(prompt: Any) -> AIMessage:
        error = next(failures, None)
        if error is not None:
            raise error
        return AIMessage("ok")

    calls = ModelCalls(retries=1, transient=lambda exc: isinstance(exc, ConnectionError))
    deps = GraphDeps(ScriptedChatModel(script=[]), {}, MemoryImageStore(), "", calls=calls, observer=metrics)
    with pytest.raises(TimeoutError):
        invoke_model(RunnableLambda(flaky), [], deps)
    text = metrics.exposition().decode()
    assert sample(text, "dialogpaint_model_faults_total", kind="ConnectionError") == 1
    assert sample(text, "dialogpaint_model_faults_total", kind="TimeoutError") == 1
    assert sample(text, "dialogpaint_model_retries_total") == 1
