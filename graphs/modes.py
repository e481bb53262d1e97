"""Tool modes: how a decision is asked of the model and read back as tool calls, in one state shape.

- ``auto``: the tools with ``tool_choice="auto"``; plain text is chat.
- ``required``: ``tool_choice="required"`` plus a ``reply`` tool for chat. vLLM constrains required and
  named tool choice to the tools' schemas, so the calls always parse.
- ``json``: no tools; a JSON-schema ``response_format`` (vLLM structured outputs) whose answer lists
  the calls, for servers started without a tool parser.

Whatever the mode, ``read_decision`` returns the AIMessage the graph expects: tool calls, or text.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.tool import invalid_tool_call, tool_call
from langchain_core.runnables import Runnable
from langgraph.constants import TAG_NOSTREAM
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graphs.deps import ToolMode
from graphs.specs import REPLY_TOOL, ReplyToUser, control_tool_schema
from tools.errors import brief_errors

JSON_DECISION = "decision"  # the name an unreadable JSON answer is reported under, for the repair round
MAX_JSON_CALLS = 8


def decision_runnable(
    model: BaseChatModel, schemas: Sequence[dict[str, Any]], mode: ToolMode
) -> tuple[Runnable[Any, BaseMessage], dict[str, Any]]:
    """The model prepared for this turn's decision, and the keyword arguments of its call."""
    if mode == "auto":
        return model.bind_tools(list(schemas), tool_choice="auto"), {}
    if mode == "required":
        return model.bind_tools([*schemas, control_tool_schema(REPLY_TOOL)], tool_choice="required"), {}
    # The raw JSON is not reply text: keep it out of the token stream, and ask for one whole answer.
    bound = model.bind(response_format=decision_format(schemas)).with_config(tags=[TAG_NOSTREAM])
    return bound, {"stream": False}


def decision_format(schemas: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The ``response_format`` of the json mode: a reply, or calls of the offered tools by name."""
    variants = [
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "enum": [s["function"]["name"]]},
                "arguments": s["function"]["parameters"],
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for s in schemas
    ]
    schema = {
        "type": "object",
        "properties": {
            "reply": {"type": "string", "description": "Text for the user when no tool is called, else empty."},
            "calls": {"type": "array", "items": {"anyOf": variants}, "maxItems": MAX_JSON_CALLS},
        },
        "required": ["reply", "calls"],
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": JSON_DECISION, "schema": schema, "strict": True}}


class JsonCall(BaseModel):
    """One tool call inside a json-mode decision."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    arguments: dict[str, Any]


class JsonDecision(BaseModel):
    """The json-mode answer: text for the user, or the calls to make."""

    model_config = ConfigDict(extra="forbid")

    reply: str = ""
    calls: list[JsonCall] = Field(default_factory=list, max_length=MAX_JSON_CALLS)


def read_decision(answer: AIMessage, mode: ToolMode) -> AIMessage:
    """The answer as the graph reads it: tool calls, or plain text for the user."""
    if mode == "json":
        return from_json(answer)
    calls = answer.tool_calls
    if len(calls) == 1 and not answer.invalid_tool_calls and calls[0]["name"] == REPLY_TOOL:
        try:
            text = ReplyToUser.model_validate(calls[0]["args"]).text
        except ValidationError:
            return answer  # answered with an error ToolMessage in the repair round
        # A new message (new id): chat is plain text in the history, and streams as reply text.
        return AIMessage(text, response_metadata=answer.response_metadata)
    return answer


def from_json(answer: AIMessage) -> AIMessage:
    """Parse a json-mode answer; an unreadable one becomes an invalid call, answered in a repair round."""
    raw = answer.text
    try:
        decision = JsonDecision.model_validate(json.loads(raw))
    except json.JSONDecodeError as exc:
        return unreadable(raw, f"the answer is not JSON ({exc.msg} at character {exc.pos})")
    except ValidationError as exc:
        return unreadable(raw, f"the answer does not match the decision schema: {brief_errors(exc)}")
    if decision.calls:
        calls = [tool_call(name=c.name, args=c.arguments, id=new_call_id()) for c in decision.calls]
        return AIMessage("", tool_calls=calls, response_metadata=answer.response_metadata)
    if not decision.reply.strip():
        return unreadable(raw, "the answer has neither calls nor a reply")
    return AIMessage(decision.reply, response_metadata=answer.response_metadata)


def unreadable(raw: str, error: str) -> AIMessage:
    """A json-mode answer that could not be read, as one invalid call."""
    bad = invalid_tool_call(name=JSON_DECISION, args=raw[:500], id=new_call_id(), error=error)
    return AIMessage("", invalid_tool_calls=[bad])


def new_call_id() -> str:
    """A tool-call id in the style OpenAI-compatible servers use."""
    return "call_" + secrets.token_hex(12)
