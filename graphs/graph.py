"""build_graph(): the editing state machine, drawn with the edges it really takes.

The hub is the dialogue model's answer. ``decide`` asks the model once and writes an AI message with
tool calls; each later node answers the next open call of that message (``CALL_NODES`` names the node
for each call), and the router then sends the turn to the node for the call after it, back to
``decide`` (a repair round after invalid calls, or the user's reply to a confirmation) or to the end:
plain text, or every call answered, when the node that answered the last one has closed the turn in
its own step with one message built from the outcomes (``graphs.nodes.closing``).
Edit calls go to ``disambiguate`` first when a detector is wired, then to ``preview`` and ``confirm``
when the confirmation policy asks, else straight to ``edit``; ``forget`` and ``rerender`` re-run
recipes; ``undo`` and ``redo`` walk the revision tree.

Which calls may share one message (``graphs.nodes.decide.conflicting``) bounds where a node can lead:
a question, a forget and a re-render come alone; otherwise at most one undo, redo or confirm_pending,
first, then edits. ``TARGETS`` lists each node's successors under those rules and is what LangGraph (and
Studio) draws; tests/test_graph_edges.py checks that every transition the eval sets take is drawn.
"""

from __future__ import annotations

import re
from typing import Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer

from graphs.deps import GraphDeps
from graphs.nodes.actions import clarify, confirm, edit, edit_run, redo, undo
from graphs.nodes.closing import closing, reply
from graphs.nodes.decide import decide
from graphs.nodes.disambiguate import disambiguate
from graphs.nodes.forget_rerender import forget, needs_recipe_confirmation, rerender
from graphs.nodes.preview import preview, previewable
from graphs.outcomes import outcomes
from graphs.recipe_plans import RECIPE_KINDS
from graphs.state import CallSpec, EditState
from graphs.turn import latest_round, open_calls, previous_turn, previous_turn_kinds

# The node that answers each control call; an editing tool's call goes to the edit route below.
CALL_NODES: dict[str, Literal["clarify", "undo", "redo", "forget", "rerender"]] = {
    "ask_clarification": "clarify",
    "undo": "undo",
    "redo": "redo",
    "forget": "forget",
    "rerender": "rerender",
}
# Where an edit call can go: looked at (disambiguate), previewed, proposed (confirm) or run (edit).
EDIT_ROUTE = ("disambiguate", "preview", "confirm", "edit")
# After a node, the calls that may still be open in the same message lead here (see the module docstring).
TARGETS: dict[str, tuple[str, ...]] = {
    # any first call, a repair round, or plain text (a chat answer, an apology, a fault) that ends the turn
    "decide": ("decide", "clarify", "undo", "redo", "forget", "rerender", *EDIT_ROUTE, END),
    # The node that answers a message's last call closes the turn itself (graphs.nodes.closing), so
    # these end the run; ``reply`` is reached only from a checkpoint an older version saved before it.
    "clarify": (END,),  # a question is the last call of its message
    "disambiguate": (END, "preview", "confirm", "edit", "clarify"),  # it asked (all answered) or passes them on
    # resumed with the user's words (decide reads them), or a declined proposal and the calls after it
    "confirm": ("decide", END, *EDIT_ROUTE, "clarify"),
    # a message's one undo, redo or confirm_pending comes first: edits and a question are all that can follow
    "undo": (END, *EDIT_ROUTE, "clarify"),
    "redo": (END, *EDIT_ROUTE, "clarify"),
    "edit": (END, *EDIT_ROUTE, "clarify"),  # after an approval, the edits sent beside it; then a question
    "forget": (END, *EDIT_ROUTE),  # alone, or approved by confirm_pending with edits beside it
    "rerender": (END, *EDIT_ROUTE),
}

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
        return "reply"  # only for a state saved by an older version, whose action nodes did not close
    name = calls[0]["name"]
    if name in RECIPE_KINDS:
        return "confirm" if needs_recipe_confirmation(state, deps, calls[0]) else CALL_NODES[name]
    if name in CALL_NODES:
        return CALL_NODES[name]
    if name == "confirm_pending":
        return approved_node(state) if calls[0]["args"].get("approve") else "confirm"
    if look:
        return "disambiguate"
    if not needs_confirmation(state, deps):
        return "edit"
    if any(c["name"] == "ask_clarification" for c in calls):
        return "clarify"  # edits beside a question are not proposed: they wait with the question's answer
    return "preview" if previewable(deps, edit_run(messages)) else "confirm"


def approved_node(state: EditState) -> Literal["edit", "forget", "rerender"]:
    """The node that carries out an approved proposal: the edits, or the forget or rerender proposed."""
    pending = state.get("pending")
    name = pending["edits"][0]["name"] if pending and pending["edits"] else None
    return name if name in ("forget", "rerender") else "edit"  # type: ignore[return-value]


def needs_confirmation(state: EditState, deps: GraphDeps) -> bool:
    """The confirmation policy for the open edit calls.

    ``auto`` asks at most one question per edit: it confirms costly tools, unless the user just
    named the edit in answer to the agent's own question, and it confirms an instruction the model
    rewrote after a clarifying question. An edit named in answer to a confirmation, or to a
    clarifying question in the user's own words (or by picking an option the question offered), is
    itself the user's consent: asking "Shall I go ahead?" about it again is a question not worth
    answering.
    """
    previous = previous_turn_kinds(state["messages"])
    if deps.confirm == "never" or "proposed" in previous:
        return False
    if deps.confirm == "always":
        return True
    run = edit_run(state["messages"])
    if "clarify" in previous:
        return rewritten(state["messages"], run)
    return any(
        deps.tools[c["name"]].capabilities.needs_confirmation or deps.tools[c["name"]].capabilities.cost == "high"
        for c in run
    )


# Words an instruction may add to the user's own without rewriting them: articles, prepositions,
# pronouns and the plain verbs that make a phrase an instruction ('purple' -> 'make the sky purple').
_GLUE = frozenset(
    {"a", "an", "the", "to", "into", "of", "with", "in", "on", "at", "by", "for", "from"}
    | {"it", "its", "this", "that", "them", "make", "turn", "change", "set", "give"}
)


def rewritten(messages: list[AnyMessage], run: list[CallSpec]) -> bool:
    """Whether an edit call after a clarifying question runs an instruction the user has not said or
    picked.

    Said: the user's answer, or an instruction whose every word (besides ``_GLUE``) is one the user
    wrote (the answer and the request the question was about) or read in the question ('change the
    background' + 'forest' -> 'change the background to forest'; 'How far should I rotate it?' +
    '180 degrees' -> 'rotate it 180 degrees'). Picked: an option the question offered (a "yes" to
    "Shall I remove the background?" picks that option). Case and end marks aside; an answer the
    model turned into other words ('blue' -> 'make the sky a deep blue') is rewritten.
    """
    humans = [str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage)][:2]
    asked = [
        c["args"]
        for m in previous_turn(messages)
        if isinstance(m, AIMessage)
        for c in m.tool_calls
        if c["name"] == "ask_clarification"
    ]
    offered = {_plain(str(option)) for args in asked for option in args.get("options") or []}
    said = _plain(humans[0]) if humans else ""
    seen = {w for text in [*humans, *(str(a.get("question", "")) for a in asked)] for w in _words(text)}
    return any(
        (instruction := _plain(str(c["args"].get("instruction", "")))) not in offered | {said}
        and not set(_words(instruction)) <= seen | _GLUE
        for c in run
    )


def _words(text: str) -> list[str]:
    """The words of a text, lower case, punctuation aside."""
    return re.findall(r"[a-z0-9]+", text.lower())


def _plain(text: str) -> str:
    """Lower case, single spaces, no end marks."""
    return " ".join(text.lower().split()).strip(" .!?,;:")


def build_graph(
    checkpointer: Checkpointer = None,
) -> CompiledStateGraph[EditState, GraphDeps, EditState, EditState]:
    """Compile the editing graph; run it with ``context=GraphDeps(...)`` and a thread id."""
    builder = StateGraph(EditState, context_schema=GraphDeps)
    builder.add_node(decide)
    builder.add_node(preview)
    for node in (clarify, disambiguate, confirm, edit, undo, redo, forget, rerender):
        builder.add_node(node.__name__, closing(node))
    builder.add_node(reply)
    builder.add_edge(START, "decide")
    builder.add_edge("preview", "confirm")
    for name, targets in TARGETS.items():
        builder.add_conditional_edges(name, route_looked if name == "disambiguate" else route, list(targets))
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=checkpointer)
