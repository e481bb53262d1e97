"""The policy's typed view of a turn: what it reads off the messages (Context, Words) and what it decides (Decision).

Nothing here reads a sentence the graph wrote: the user's words, the tool calls of earlier AI messages,
the outcomes on ToolMessages (graphs.outcomes) and the facts the graph hands over as data (graphs.facts).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.policy.commands import dialogue_act
from agent.policy.features import ActContext
from agent.policy.text import NO, YES, normalize, strip_leading
from graphs.facts import DialogueFacts
from graphs.outcomes import outcome


@dataclass(frozen=True)
class Decision:
    """What the policy decided: its act (the act model's labels) and any words for the user.

    The tool calls it makes are queued on the Context; ``text`` is shown only when there are none.
    """

    act: str  # edit | clarify | undo | redo | confirm_yes | confirm_no | chat
    text: str = ""


@dataclass(frozen=True)
class Asked:
    """A user message the agent answered with a clarifying question (agent.policy.carry).

    ``ran``: edits were applied in the same reply, before the question (the clauses said before the
    vague one), so only the rest of the request still waits.
    """

    text: str
    ran: bool = False


@dataclass(frozen=True)
class Words:
    """What the rules read off the latest message once: a leading yes or no (and what follows), its act."""

    said_yes: bool
    after_yes: str
    said_no: bool
    after_no: str
    act: str | None

    @classmethod
    def of(cls, text: str) -> Words:
        """Read ``text`` (normalised)."""
        said_yes, after_yes = strip_leading(YES, text)
        said_no, after_no = strip_leading(NO, text)
        return cls(said_yes, after_yes, said_no, after_no, dialogue_act(text))


@dataclass
class Context:
    """What the policy reads from the messages it is given."""

    text: str  # the latest user message, normalised
    tools: dict[str, dict[str, Any]]  # bound tool schemas by name
    generative_tools: frozenset[str] = frozenset()  # bound tools that follow free-form instructions
    edit_count: int = 0
    pending: bool = False
    pending_instruction: str = ""
    clarified_request: str = ""  # the vague request the last turn asked about
    asked_chain: list[Asked] = field(default_factory=list)  # the user's messages asked about in a row, oldest first
    last_edit: str = ""  # the instruction of the edit the last turn applied
    last_failed: str = ""  # the instruction of an edit the last turn tried and could not apply
    last_turn_edits: int = 0  # how many edits the last turn applied ("undo these edits")
    applied: list[tuple[str, str]] = field(default_factory=list)  # (tool, instruction) on the path, oldest first
    missing: list[dict[str, Any]] = field(default_factory=list)  # registered tools that cannot run now (facts)
    note: str = ""  # words for the user when the decision queues no call
    calls: list[dict[str, Any]] = field(default_factory=list)
    messages: Sequence[BaseMessage] = ()  # the conversation, for the which-one answer

    @property
    def generative(self) -> str | None:
        """The bound tool that follows free-form instructions, if any."""
        return next((name for name in self.tools if name in self.generative_tools), None)

    def call(self, name: str, **args: Any) -> None:
        """Queue a tool call."""
        self.calls.append({"name": name, "args": args, "id": "call_" + uuid.uuid4().hex[:24], "type": "tool_call"})


def from_calls(ctx: Context) -> Decision:
    """The act the queued calls make, in the act model's labels."""
    said_no, rest = strip_leading(NO, ctx.text)
    names = [c["name"] for c in ctx.calls]
    if not names and ctx.note:
        return Decision("chat", ctx.note)
    if "confirm_pending" in names:
        approve = next(c["args"].get("approve") for c in ctx.calls if c["name"] == "confirm_pending")
        return Decision("confirm_yes" if approve else "confirm_no")
    if names and names[0] == "ask_clarification":
        return Decision("clarify")
    if names and names[0] == "undo" and said_no and ctx.last_edit and dialogue_act(rest) != "undo":
        return Decision("confirm_no")  # 'no' to the edit just made takes it back ("no, take it back": an undo)
    if names and names[0] in ("undo", "redo"):
        return Decision(names[0])
    return Decision("edit")


def act_context(ctx: Context) -> ActContext:
    """The dialogue facts the act model reads."""
    return ActContext(
        asked=bool(ctx.clarified_request),
        applied=bool(ctx.last_edit),
        failed=bool(ctx.last_failed),
        pending=ctx.pending,
        can_undo=ctx.edit_count > 0,
    )


def read_context(
    messages: Sequence[BaseMessage], tools: dict[str, dict[str, Any]], facts: DialogueFacts | None
) -> Context:
    """Extract the latest message, the session's facts and what the previous turn did."""
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    last = humans[-1] if humans else len(messages) - 1
    ctx = Context(text=normalize(str(messages[last].content)), tools=tools, messages=messages)
    ctx.pending = "confirm_pending" in tools
    if facts is not None:
        ctx.generative_tools = frozenset(facts["generative_tools"])
        ctx.edit_count = facts["edits_applied"]
        ctx.applied = [(e["tool"], e["instruction"]) for e in facts.get("applied", [])]
        ctx.missing = [dict(m) for m in facts.get("missing_tools", [])]
        proposal = facts["pending"]
        if proposal is not None:
            ctx.pending_instruction = "; ".join(e["args"].get("instruction", "") for e in proposal["edits"])
    previous = humans[-2] if len(humans) > 1 else -1
    ctx.asked_chain = asked_chain(messages, humans)
    turn = messages[previous + 1 : last]
    asked = previous >= 0 and put_question(turn)
    if asked:
        ctx.clarified_request = normalize(str(messages[previous].content))
    for message in turn:
        if (found := outcome(message)) is not None and found["kind"] == "edit" and "instruction" in found:
            ctx.last_edit = found["instruction"]
            ctx.last_turn_edits += 1
        elif found is not None and (found["kind"] == "failed" or (found["kind"] == "skipped" and not asked)):
            # edits skipped beside the question put were held for its answer, never tried (graphs.nodes.actions.clarify)
            ctx.last_failed = found.get("instruction", "") or found["kind"]
    return ctx


def asked_chain(messages: Sequence[BaseMessage], humans: Sequence[int]) -> list[Asked]:
    """The user's messages before the latest (``humans``: their indices), each answered with a question, in a row.

    'make it brighter and rotate it' (asked which way) is the chain the answer completes; an answer asked
    about again extends it, so a request of several clauses is carried over its questions
    (agent.policy.carry).
    """
    chain: list[Asked] = []
    for k in range(len(humans) - 2, -1, -1):
        reply = messages[humans[k] + 1 : humans[k + 1]]
        if not put_question(reply):
            break
        ran = any((found := outcome(m)) is not None and found["kind"] == "edit" for m in reply)
        chain.insert(0, Asked(normalize(str(messages[humans[k]].content)), ran))
    return chain


def put_question(reply: Sequence[BaseMessage]) -> bool:
    """Whether the agent's reply put one of our ask_clarification questions to the user.

    A question refused (past the question cap: 'invalid') or withdrawn for a which-one question
    ('skipped') was never shown, so no answer to it follows.
    """
    asks = {
        c["id"] for m in reply if isinstance(m, AIMessage) for c in m.tool_calls if c["name"] == "ask_clarification"
    }
    return any(
        isinstance(m, ToolMessage) and m.tool_call_id in asks and (found := outcome(m)) is not None
        and found["kind"] == "clarify"
        for m in reply
    )  # fmt: skip
