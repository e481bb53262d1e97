"""The editing graph as a building block: a subgraph of another LangGraph app, and a LangChain tool for an agent."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Command

from agent.integrations.langchain_tool import session_tool
from agent.samples import landscape
from agent.session.engine import Engine
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from graphs.revisions import new_revision
from graphs.state import Proposal, Revision
from graphs.storage.store import put_image
from tests.fakes import ScriptedChatModel


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """The embedded policy and CPU tools, as `dialogpaint` wires them."""
    from agent.settings import Settings
    from agent.wiring import create_engine

    with create_engine(Settings(data_dir=tmp_path / "data")) as built:
        yield built


class ProductState(MessagesState):
    """A chat product's state: its own keys plus the editor's, which the subgraph reads and writes by name.

    ``revisions`` has no append reducer here: the editor returns its whole list, which replaces the
    parent's (with EditState's append reducer in the parent too, every turn would append it again).
    """

    revisions: list[Revision]
    head: str | None
    redo_stack: list[str]
    pending: Proposal | None
    turns: int


def count(state: ProductState) -> dict[str, Any]:
    return {"turns": state.get("turns", 0) + 1}


def test_the_editor_runs_as_a_subgraph_and_its_confirmation_interrupts_the_parent(engine: Engine) -> None:
    builder = StateGraph(ProductState, context_schema=GraphDeps)
    builder.add_node("count", count)
    builder.add_node("editor", build_graph())  # no checkpointer of its own: it saves into the parent's
    builder.add_edge(START, "count")
    builder.add_edge("count", "editor")
    builder.add_edge("editor", END)
    saver = InMemorySaver()
    app = builder.compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "product-1"}}
    root = new_revision(put_image(engine.deps.store, landscape(96, 64)))
    start = {"revisions": [root], "head": root["id"], "redo_stack": [], "pending": None}

    def say(value: Any) -> dict[str, Any]:
        return app.invoke(value, config, context=engine.deps)

    asked = say({**start, "messages": [HumanMessage("make it look better")]})
    assert "__interrupt__" not in asked and asked["head"] == root["id"]
    proposed = say({"messages": [HumanMessage("brighter and more vivid colours")]})
    (interrupt,) = proposed["__interrupt__"]
    assert interrupt.value["kind"] == "confirm_edit" and "Shall I go ahead?" in interrupt.value["question"]
    assert app.get_state(config).next == ("editor",)  # the parent waits inside its subgraph node
    edited = say(Command(resume=HumanMessage("yes")))
    assert edited["head"] != root["id"] and [r["parent"] for r in edited["revisions"]] == [None, root["id"]]
    assert edited["turns"] == 2 and app.get_state(config).next == ()
    assert saver.get_tuple(config) is not None  # one checkpointer holds parent and subgraph


def tool_call(request: str, call_id: str) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": "edit_image", "args": {"request": request}, "id": call_id}])


def test_a_react_agent_delegates_edits_to_a_session_through_the_tool(engine: Engine) -> None:
    from langgraph.prebuilt import create_react_agent
    from langgraph.warnings import LangGraphDeprecatedSinceV10

    session = engine.open(landscape(96, 64))
    original = session.head["id"]
    model = ScriptedChatModel(
        script=[
            tool_call("brighter and more vivid colours", "c1"),
            AIMessage("The editor asks: shall it go ahead?"),
            tool_call("make it brighter", "c2"),
            AIMessage("Done: it is brighter."),
        ]
    )
    with warnings.catch_warnings():  # langchain.agents.create_agent replaces it; langchain is not a dependency
        warnings.simplefilter("ignore", LangGraphDeprecatedSinceV10)
        agent = create_react_agent(model, [session_tool(session)])
    first = agent.invoke({"messages": [HumanMessage("can you make my photo brighter and more vivid?")]})
    answer = next(m for m in first["messages"] if isinstance(m, ToolMessage))
    assert answer.artifact.action in ("edit", "confirm") and answer.artifact.head == session.head["id"]
    assert first["messages"][-1].content == "The editor asks: shall it go ahead?"
    second = agent.invoke({"messages": [*first["messages"], HumanMessage("also brighter please")]})
    tool_answers = [m for m in second["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_answers) == 2 and f"current revision {session.head['id']}]" in str(tool_answers[-1].content)
    assert session.head["id"] != original and len(session.revisions) >= 2
    assert [tool.name for tool in model.bound[0]] == ["edit_image"]  # the agent offered the model the tool
