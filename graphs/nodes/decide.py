"""decide: one dialogue-model call with the tools bound, and validation of the calls it returns."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately
from langgraph.runtime import Runtime
from pydantic import ValidationError

from graphs.deps import GraphDeps
from graphs.facts import FACTS_KEY, dialogue_facts
from graphs.model_call import AnswerCutOff, invoke_model
from graphs.modes import JSON_DECISION, decision_runnable, read_decision
from graphs.outcomes import FAULT, tool_message
from graphs.revisions import summarize
from graphs.specs import (
    CONTROL_TOOLS,
    REPLY_TOOL,
    ReplyToUser,
    tool_schemas,
    validate_control_call,
    validate_edit_call,
)
from graphs.state import EditState
from graphs.turn import call_list, model_calls_this_turn, questions_in_a_row
from graphs.window import windowed
from tools.base import Readiness
from tools.errors import brief_errors
from tools.registry import not_ready

logger = logging.getLogger(__name__)

GAVE_UP = "Sorry, I couldn't work out how to do that. Could you say it another way?"
EMPTY_ANSWER = "Sorry, the dialogue model gave an empty answer. Nothing was changed; could you say it another way?"


def decide(state: EditState, runtime: Runtime[GraphDeps]) -> dict[str, Any]:
    """Ask the model what to do with the latest message; at a user's message, move turns past the window out."""
    update = decision(state, runtime.context)
    starts = bool(state["messages"]) and isinstance(state["messages"][-1], HumanMessage)  # a new turn, or an answer
    return windowed(update, state, runtime.context) if starts else update


def decision(state: EditState, deps: GraphDeps) -> dict[str, Any]:
    """Ask the model what to do with the latest message; answer any invalid call for a repair round."""
    messages = state["messages"]
    if model_calls_this_turn(messages) >= deps.limits.model_calls_per_turn:
        logger.warning("model call cap (%d) reached; giving up this turn", deps.limits.model_calls_per_turn)
        return {"messages": [AIMessage(GAVE_UP)], "pending": None}
    pending = state.get("pending")
    missing = (
        {} if deps.offer_unready else not_ready(deps.tools)
    )  # asked each turn: a tool may break (a sticky CUDA error) or come back
    schemas = tool_schemas({n: t for n, t in deps.tools.items() if n not in missing}, pending=pending is not None)
    model, kwargs = decision_runnable(deps.model, schemas, deps.calls.tool_mode)
    model = model.with_config(metadata={FACTS_KEY: dialogue_facts(state, deps, missing)})
    prompt = [system_message(deps, state, missing), *trim_history(messages, deps.limits.context_tokens)]
    try:
        raw = invoke_model(model, prompt, deps, **kwargs)
    except Exception as exc:  # the boundary with the dialogue model: end the turn, keep the session
        return fault(deps, exc)
    answer = read_decision(raw if isinstance(raw, AIMessage) else AIMessage(raw.content), deps.calls.tool_mode)
    if call_list(answer) and raw.response_metadata.get("finish_reason") == "length":
        # Streamed, langchain completes cut-off JSON arguments ('"mirror the ima' -> valid): never run them.
        return fault(deps, AnswerCutOff(f"{len(call_list(answer))} tool call(s) cut off at max_tokens"))
    if not call_list(answer) and not answer.text.strip():  # no call to answer with an error: end the turn
        logger.warning("dialogue model gave an empty answer")
        return {"messages": [AIMessage(EMPTY_ANSWER, response_metadata={FAULT: "EmptyAnswer"})]}
    problems = check_calls(answer, deps, pending_allowed=pending is not None, missing=missing)
    if not problems:
        problems = cap_questions(answer, messages, deps.limits.questions_in_a_row)
    update: dict[str, Any] = {"messages": [answer, *problems]}
    approves = any(c["name"] == "confirm_pending" for c in answer.tool_calls)
    if not problems and not approves and call_list(answer):
        # Any other call drops an edit awaiting confirmation; words alone ("you're welcome: shall I go
        # ahead?", "take your time") leave it waiting for the user's yes or no.
        update["pending"] = None
    return update


def fault(deps: GraphDeps, exc: Exception) -> dict[str, Any]:
    """End the turn with the user's explanation of a failed model call, kept out of the dialogue."""
    logger.warning("dialogue model call failed: %s: %s", type(exc).__name__, exc)
    return {"messages": [AIMessage(deps.calls.explain(exc), response_metadata={FAULT: type(exc).__name__})]}


def system_message(deps: GraphDeps, state: EditState, missing: dict[str, Readiness] | None = None) -> SystemMessage:
    """The system prompt followed by the current image history, the tools that cannot run now and any
    pending confirmation.
    """
    history = summarize(state.get("revisions", []), state.get("head"), state.get("redo_stack", []))
    parts = [deps.system_prompt, f"Image history: {history}"]
    if missing:
        parts.append(
            "Not available here now (never call them; for a request only they could do, say so in one line "
            "with what would enable them and what you can do instead): "
            + "; ".join(f"{name} ({found.explain()})" for name, found in missing.items())
        )
    pending = state.get("pending")
    if pending:
        parts.append(f"Awaiting the user's confirmation: {pending['question']}")
    return SystemMessage("\n\n".join(parts))


def trim_history(messages: Sequence[AnyMessage], max_tokens: int) -> list[AnyMessage]:
    """The latest messages that fit the budget, starting at a user message so tool calls stay paired.

    The current turn (from the latest user message) is always sent: a longer one leaves the model
    nothing to answer, so the server's context-length error is the honest outcome. Reports of failed
    model calls are left out: they are for the user, not part of the dialogue.
    """
    kept = [m for m in messages if not (isinstance(m, AIMessage) and FAULT in m.response_metadata)]
    users = [i for i, m in enumerate(kept) if isinstance(m, HumanMessage)]
    if users and count_tokens_approximately(kept) <= max_tokens:
        # What trim_messages returns when all fits (the window usually does), without its conversions
        # and copies: everything from the first user message on.
        return kept[users[0] :]
    trimmed: list[AnyMessage] = trim_messages(  # type: ignore[assignment]
        kept,
        max_tokens=max_tokens,
        token_counter="approximate",
        strategy="last",
        start_on="human",
    )
    if trimmed:
        return trimmed
    return kept[users[-1] :] if users else kept


def check_calls(
    answer: AIMessage, deps: GraphDeps, *, pending_allowed: bool, missing: dict[str, Readiness] | None = None
) -> list[ToolMessage]:
    """ToolMessages for a repair round if any call is invalid; [] when every call can run.

    When one call is bad, every call of the message is answered (the others as 'not run'), so the
    model repeats the whole decision and the history stays valid for OpenAI-format servers.
    """
    calls = call_list(answer)
    errors = {c["id"]: error for c in calls if (error := call_error(c, deps, pending_allowed, missing or {}))}
    conflict = conflicting(calls)
    if not errors and not conflict:
        return []
    messages = []
    for call in calls:
        reason = errors.get(call["id"]) or conflict or "not run because another call was invalid"
        messages.append(tool_message(call["id"], f"Error: {reason}. Send the corrected calls.", "invalid"))
    logger.info("repair round: %s", "; ".join(errors.values()) or conflict)
    return messages


def call_error(
    call: dict[str, Any], deps: GraphDeps, pending_allowed: bool, missing: dict[str, Readiness]
) -> str | None:
    """Why one call cannot run, or None."""
    name, args = call.get("name") or "", call.get("args")
    if name in missing:
        return f"{name} cannot run here now ({missing[name].reason}); tell the user in plain text instead"
    if args is None and name == JSON_DECISION:
        return str(call.get("error") or "the answer could not be read")
    if args is None:
        return f"the arguments of {name or 'a call'} are not valid JSON"
    try:
        if name in deps.tools:
            validate_edit_call(deps.tools[name], call["id"], args)
        elif name in CONTROL_TOOLS and (name != "confirm_pending" or pending_allowed):
            validate_control_call(name, args)
        elif name == REPLY_TOOL and deps.calls.tool_mode == "required":
            ReplyToUser.model_validate(args)  # a lone valid reply became text already; conflicting() checks the rest
        else:
            return f"there is no tool named {name!r}"
    except ValidationError as exc:
        return f"invalid arguments for {name}: {brief_errors(exc)}"
    except ValueError as exc:
        return str(exc)
    return None


def cap_questions(answer: AIMessage, messages: Sequence[AnyMessage], cap: int) -> list[ToolMessage]:
    """Refuse another clarifying question after ``cap`` in a row: the model must act or answer.

    Like any invalid call, the question sends the whole message back: edits beside it are answered
    'not run' (left open, they would run before the repair round and again after it).
    """
    if not any(c["name"] == "ask_clarification" for c in answer.tool_calls) or questions_in_a_row(messages) < cap:
        return []
    logger.info("question cap (%d in a row) reached; asking the model to act", cap)
    text = (
        f"Error: you have asked {cap} clarifying questions in a row; do not ask another. Make the most "
        "likely explicit edit from what the user said, or answer in plain text."
    )
    others = "Error: not run because the question beside it was refused. Send the corrected calls."
    return [
        tool_message(str(c["id"]), text if c["name"] == "ask_clarification" else others, "invalid")
        for c in call_list(answer)
    ]


# The state-changing calls that refer to the state before this message: at most one, and first.
LEADING_CONTROLS = ("undo", "redo", "confirm_pending")


def conflicting(calls: Sequence[dict[str, Any]]) -> str | None:
    """Calls that make no sense together in one message, by the one rule for several calls.

    A message holds one forget, one re-render or one reply on its own; otherwise at most one undo,
    redo or confirm_pending, first, then edits, which run in order, each its own revision (up to
    ``TurnLimits.edits_per_message``), then at most one question, last: about what the edits before it
    leave open. So "no, make it blue instead" is undo then an edit, "yes, and sharpen it" is an
    approval then an edit, "rotate it 90 degrees, then fix it up" is an edit then a question, and an
    edit followed by an undo is refused: the undo would take back what the same message asked for.
    """
    names = [c.get("name") for c in calls]
    if names.count("ask_clarification") > 1 or ("ask_clarification" in names and names[-1] != "ask_clarification"):
        return "ask_clarification must be the last call in a message, and the only question"
    if any(n in ("forget", "rerender") for n in names) and len(names) > 1:
        return "forget and rerender must be the only call in a message"
    if REPLY_TOOL in names and len(names) > 1:
        return "reply must be the only call in a message"
    controls = [n for n in names if n in LEADING_CONTROLS]
    if len(controls) > 1:
        return "a message may hold one undo, redo or confirm_pending, not " + " and ".join(map(str, controls))
    if controls and names[0] != controls[0]:
        return f"{controls[0]} must come first in a message, before any edit"
    return None
