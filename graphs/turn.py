"""Reading a turn out of the message list: open tool calls, this turn's outcomes, model-call counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from graphs.outcomes import OutcomeKind, outcomes


def last_human_index(messages: Sequence[AnyMessage]) -> int:
    """Index of the latest user message, or -1."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return i
    return -1


def this_turn(messages: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
    """Messages after the latest user message."""
    return messages[last_human_index(messages) + 1 :]


def model_calls_this_turn(messages: Sequence[AnyMessage]) -> int:
    """How many times the model has answered since the user last spoke."""
    return sum(isinstance(m, AIMessage) for m in this_turn(messages))


def call_list(message: AIMessage) -> list[dict[str, Any]]:
    """All tool calls of a message, malformed ones included (each needs a ToolMessage)."""
    calls: list[dict[str, Any]] = [dict(c) for c in message.tool_calls]
    calls += [{**c, "args": None} for c in message.invalid_tool_calls]
    return calls


def latest_round(messages: Sequence[AnyMessage]) -> tuple[AIMessage | None, list[ToolMessage]]:
    """The latest model message with tool calls in this turn, and the ToolMessages answering it."""
    turn = this_turn(messages)
    for i in range(len(turn) - 1, -1, -1):
        message = turn[i]
        if isinstance(message, AIMessage) and call_list(message):
            answers = [m for m in turn[i + 1 :] if isinstance(m, ToolMessage)]
            return message, answers
    return None, []


def open_calls(messages: Sequence[AnyMessage]) -> list[dict[str, Any]]:
    """Tool calls of the latest round that have no ToolMessage yet, in the model's order."""
    message, answers = latest_round(messages)
    if message is None:
        return []
    answered = {m.tool_call_id for m in answers}
    return [c for c in call_list(message) if c["id"] not in answered]


def previous_turn(messages: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
    """The messages of the turn before this one (from the previous user message, exclusive, to the latest)."""
    end = last_human_index(messages)
    start = last_human_index(messages[:end]) if end > 0 else -1
    return messages[start + 1 : max(end, 0)]


def previous_turn_kinds(messages: Sequence[AnyMessage]) -> set[OutcomeKind]:
    """Outcome kinds of the turn before this one (e.g. {'clarify'} after a question)."""
    return {o["kind"] for o in outcomes(previous_turn(messages))}


def questions_in_a_row(messages: Sequence[AnyMessage]) -> int:
    """How many turns in a row, ending with the previous one, closed on a clarifying question and changed nothing.

    A turn that ran an edit before its question ('Done: sharpen it. Which way should I rotate it?')
    acted: it ends the run, so answering one question after another about a long request is never capped.
    """
    count, end = 0, last_human_index(messages)
    while end > 0:
        start = last_human_index(messages[:end])
        kinds = {o["kind"] for o in outcomes(messages[start + 1 : end])}
        if "clarify" not in kinds or "edit" in kinds:
            break
        count, end = count + 1, start
    return count


# The nodes that answer an open tool call: a run stopped before one of them has work only if one is open.
CALL_ANSWERING = frozenset(
    {"clarify", "disambiguate", "preview", "confirm", "edit", "undo", "redo", "forget", "rerender"}
)


def has_work(messages: Sequence[AnyMessage], nodes: Sequence[str]) -> bool:
    """Whether a run stopped before ``nodes`` (a checkpoint's ``next``) left them anything to do.

    decide needs a user message to answer or a repair round; the call-answering nodes an open call;
    reply a turn to close. A checkpoint whose input write was lost (a locked store) has none.
    """
    if not messages:
        return False
    if "decide" in nodes:
        _, answers = latest_round(messages)
        return isinstance(messages[-1], HumanMessage) or any(o["kind"] == "invalid" for o in outcomes(answers))
    if CALL_ANSWERING.intersection(nodes):
        return bool(open_calls(messages))
    return True
