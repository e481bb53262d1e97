"""Readiness is data: a tool that cannot run now is never offered, the facts say what is missing and what
would enable it, and the embedded policy answers a request only that tool could do in one honest line.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.models.prompts import SYSTEM_PROMPT
from agent.policy.local import LocalPolicy
from agent.session.engine import Engine
from graphs.deps import GraphDeps
from graphs.facts import FACTS_KEY
from graphs.graph import build_graph
from tests.fakes import CostlyTool, MemoryImageStore, RecordingTool, ScriptedChatModel, ai, call, gradient
from tools.base import READY, Readiness, ToolCapabilities, readiness, unavailable_reason
from tools.registry import load_registry, not_ready, ready_tools


class Switchable(CostlyTool):
    """A generative fake editor whose readiness is set by the test (a GPU tool that breaks and comes back)."""

    name: ClassVar[str] = "dream_editor"
    capabilities: ClassVar[ToolCapabilities] = ToolCapabilities(device="gpu", cost="high", generative=True)

    def __init__(self) -> None:
        super().__init__()
        self.ready = False

    def readiness(self) -> Readiness:
        if self.ready:
            return READY
        return Readiness(False, "no weights at /models/dream", "pass --dream-path DIR")


def bound_names(model: ScriptedChatModel) -> list[set[str]]:
    """The tool names bound on each call of the scripted model."""
    return [{t["function"]["name"] if "function" in t else t["name"] for t in tools} for tools in model.bound]


def test_readiness_reads_either_protocol_method():
    class OldStyle(RecordingTool):
        def unavailable_reason(self) -> str | None:
            return "missing extra"

    assert readiness(RecordingTool()) == READY
    assert readiness(OldStyle()) == Readiness(False, "missing extra")
    tool = Switchable()
    assert unavailable_reason(tool) == "no weights at /models/dream; to enable: pass --dream-path DIR"
    with pytest.raises(ValueError, match="needs a reason"):
        Readiness(False)


def test_the_registry_marks_instruct_pix2pix_not_ready_without_weights():
    registry = load_registry(plugins=False)
    found = registry.readiness("instruct_pix2pix")
    assert not found.ready and "no model configured" in found.reason and "--model-path" in found.enable
    assert "instruct_pix2pix" in not_ready(registry) and "instruct_pix2pix" not in ready_tools(registry)
    assert registry.readiness("crop").ready


def test_a_tool_that_cannot_run_is_never_bound_and_a_call_to_it_is_refused(tool):
    dream = Switchable()
    model = ScriptedChatModel(script=[ai(call("dream_editor", instruction="add a dragon")), ai(text="Sorry.")])
    deps = GraphDeps(model, {"mirror": tool, "dream_editor": dream}, MemoryImageStore(), SYSTEM_PROMPT)
    session = Engine(build_graph(InMemorySaver()), deps).open(gradient())
    reply = session.send("add a dragon")
    assert all("dream_editor" not in names and "mirror" in names for names in bound_names(model))
    repair = [m for m in model.seen[-1] if getattr(m, "status", "") == "error"]
    assert repair and "cannot run here now" in str(repair[0].content) and not dream.calls
    assert reply.text == "Sorry." and len(reply.revisions) == 1
    system = str(model.seen[0][0].content)
    assert "Not available here now" in system and "pass --dream-path DIR" in system
    dream.ready = True  # it came back: offered again on the next turn, with no restart
    model.script = [ai(call("dream_editor", instruction="add a dragon"))]
    assert session.send("add a dragon").action == "confirm"
    assert "dream_editor" in bound_names(model)[-1]


def test_the_facts_name_the_missing_capability_and_how_to_enable_it(tool):
    seen: list[Any] = []

    class Recording(LocalPolicy):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(run_manager.metadata[FACTS_KEY] if run_manager else None)
            return super()._generate(messages, stop, run_manager, **kwargs)

    deps = GraphDeps(Recording(), {"mirror": tool, "dream_editor": Switchable()}, MemoryImageStore(), SYSTEM_PROMPT)
    session = Engine(build_graph(InMemorySaver()), deps).open(gradient())
    reply = session.send("put a dragon in the sky")
    assert seen[-1]["generative_tools"] == []
    assert seen[-1]["missing_tools"] == [
        {
            "name": "dream_editor",
            "generative": True,
            "reason": "no weights at /models/dream",
            "enable": "pass --dream-path DIR",
        }
    ]
    assert reply.action == "chat" and "\n" not in reply.text
    assert "dream_editor" in reply.text and "pass --dream-path DIR" in reply.text and "What I can do now" in reply.text


@pytest.mark.parametrize(
    "text", ["remove the background", "make her hair blonde", "add some text", "move him somewhere"]
)
def test_requests_only_the_missing_editor_could_do_get_the_honest_line_by_default(text):
    deps = GraphDeps(LocalPolicy(), load_registry(plugins=False), MemoryImageStore(), SYSTEM_PROMPT, seed=0)
    session = Engine(build_graph(InMemorySaver()), deps).open(gradient())
    reply = session.send(text)
    assert reply.action == "chat" and reply.confirmation is None and not reply.error
    assert "instruct_pix2pix" in reply.text and "--model-path" in reply.text and "Shall I" not in reply.text


def test_clarifying_options_come_only_from_ready_tools():
    deps = GraphDeps(LocalPolicy(), load_registry(plugins=False), MemoryImageStore(), SYSTEM_PROMPT, seed=0)
    session = Engine(build_graph(InMemorySaver()), deps).open(gradient())
    reply = session.send("make it look nicer")
    assert reply.action == "clarify" and "watercolor" not in reply.text and "make it brighter" in reply.text


def test_healthz_readiness_leaves_reasons_out_unless_in_dev_mode(tool):
    from agent.service.health import tools_readiness

    tools = {"mirror": tool, "dream_editor": Switchable()}
    assert tools_readiness(tools, detail=False) == {"mirror": {"ready": True}, "dream_editor": {"ready": False}}
    shown = tools_readiness(tools, detail=True)["dream_editor"]
    assert shown == {"ready": False, "reason": "no weights at /models/dream", "enable": "pass --dream-path DIR"}
