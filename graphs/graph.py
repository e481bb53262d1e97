"""build_graph(): decide routes to clarify, disambiguate (with a detector), confirm, edit, undo or redo; reply ends."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer

from graphs.actions import clarify, confirm, edit, edit_run, redo, reply, undo
from graphs.decide import decide
from graphs.deps import GraphDeps
from graphs.disambiguate import disambiguate
from graphs.outcomes import outcomes
from graphs.preview import preview, previewable
from graphs.recipe_nodes import forget, needs_recipe_confirmation, rerender
from graphs.recipe_plans import RECIPE_KINDS
from graphs.state import EditState
from graphs.turn import latest_round, open_calls, previous_turn_kinds

Next = Literal[
    "decide",
    "clarify",
    "disambiguate",
    "preview",
    "confirm",
    "edit",
    "undo",
    "redo",
    "forget",
    "rerender",
    "reply",
    "__end__",
]


def route(state: EditState, runtime: Runtime[GraphDeps]) -> Next:
    """Pick the node for the next open tool call, a repair round, the closing reply, or the end."""
    return next_node(state, runtime.context, look=runtime.context.detector is not None)


def route_looked(state: EditState, runtime: Runtime[GraphDeps]) -> Next:
    """Route after disambiguate looked at the open edit calls (so not there again)."""
    return next_node(state, runtime.context, look=False)


def next_node(state: EditState, deps: GraphDeps, *, look: bool) -> Next:
    """The node for the state; ``look``: open edit calls go to disambiguate first."""
    messages = state["messages"]
    if isinstance(messages[-1], HumanMessage):  # a resumed confirmation brought the user's reply
        return "decide"
    calls = open_calls(messages)
    if not calls:
        if isinstance(messages[-1], AIMessage):  # plain text: a chat reply or an apology
            return "__end__"
        _, answers = latest_round(messages)
        if any(o["kind"] == "invalid" for o in outcomes(answers)):
            return "decide"
        return "reply"
    name = calls[0]["name"]
    if name == "ask_clarification":
        return "clarify"
    if name == "undo":
        return "undo"
    if name == "redo":
        return "redo"
    if name in RECIPE_KINDS:
        return "confirm" if needs_recipe_confirmation(state, deps, calls[0]) else name
    if name == "confirm_pending":
        return approved_node(state) if calls[0]["args"].get("approve") else "confirm"
    if look:
        return "disambiguate"
    if not needs_confirmation(state, deps):
        return "edit"
    return "preview" if previewable(deps, edit_run(messages)) else "confirm"


def approved_node(state: EditState) -> Literal["edit", "forget", "rerender"]:
    """The node that carries out an approved proposal: the edits, or the forget or rerender proposed."""
    pending = state.get("pending")
    name = pending["edits"][0]["name"] if pending and pending["edits"] else None
    return name if name in ("forget", "rerender") else "edit"  # type: ignore[return-value]


def needs_confirmation(state: EditState, deps: GraphDeps) -> bool:
    """The confirmation policy for the open edit calls.

    ``auto`` confirms costly tools, and edits that resolve a clarifying question (the instruction
    was rewritten by the model). No policy asks again about an edit the user named in answer to a
    confirmation.
    """
    previous = previous_turn_kinds(state["messages"])
    if deps.confirm == "never" or "proposed" in previous:
        return False  # an edit named in answer to a confirmation is itself the user's consent
    if deps.confirm == "always":
        return True
    tools = [deps.tools[c["name"]] for c in edit_run(state["messages"])]
    costly = any(t.capabilities.needs_confirmation or t.capabilities.cost == "high" for t in tools)
    return costly or "clarify" in previous


def build_graph(
    checkpointer: Checkpointer = None,
) -> CompiledStateGraph[EditState, GraphDeps, EditState, EditState]:
    """Compile the editing graph; run it with ``context=GraphDeps(...)`` and a thread id."""
    builder = StateGraph(EditState, context_schema=GraphDeps)
    for node in (decide, clarify, disambiguate, preview, confirm, edit, undo, redo, forget, rerender, reply):
        builder.add_node(node)
    builder.add_edge(START, "decide")
    builder.add_edge("preview", "confirm")
    for name in ("decide", "clarify", "confirm", "edit", "undo", "redo", "forget", "rerender"):
        builder.add_conditional_edges(name, route)
    builder.add_conditional_edges("disambiguate", route_looked)
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=checkpointer)
