"""The tool schemas the dialogue model is given, and validation of the calls it makes with them."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.base import CONTROL_TOOL_NAMES, MAX_STEPS, EditTool, capability_notes, tool_description
from tools.base import REPLY_TOOL as REPLY_TOOL  # noqa: PLC0414  (re-exported for the graph modules)
from tools.errors import brief_errors

MAX_INSTRUCTION = 300  # characters; InstructPix2Pix's own cap, for every tool (CLIP reads 77 tokens anyway)
INSTRUCTION_FIELD = {
    "type": "string",
    "minLength": 2,
    "maxLength": MAX_INSTRUCTION,
    "description": "The explicit, self-contained edit instruction this call carries out, imperative "
    "and with any earlier clarification folded in, e.g. 'make the photo black and white'.",
}


class AskClarification(BaseModel):
    """Ask the user one clarifying question instead of editing, because the request is too vague to
    execute: the target, the value or the change itself is unclear (e.g. 'make it better', 'change
    it to something else'). Offer concrete options.
    """

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=3, max_length=500, description="One short question.")
    options: list[str] = Field(default_factory=list, max_length=6, description="Concrete choices to offer, if any.")


class Undo(BaseModel):
    """Undo the most recent edits ('undo', 'forget that', 'go back two steps')."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(1, ge=1, le=MAX_STEPS, description="How many edits to undo.")


class Redo(BaseModel):
    """Redo edits that were undone ('redo', 'bring it back', 'put that back')."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(1, ge=1, le=MAX_STEPS, description="How many undone edits to restore.")


class ConfirmPending(BaseModel):
    """Answer the edit that is awaiting the user's confirmation: approve=true applies it (the user
    said yes), approve=false discards it (the user said no). If the user asks for a different edit
    instead, call that edit tool rather than this one.
    """

    model_config = ConfigDict(extra="forbid")

    approve: bool = Field(description="True to apply the pending edit, false to discard it.")


class Forget(BaseModel):
    """Forget one earlier edit; the later ones are re-applied as recorded."""

    model_config = ConfigDict(extra="forbid")

    edit: str = Field(min_length=1, max_length=100, description="Its number (oldest = 1) or words: '2', 'sepia'.")

    @property
    def position(self) -> int | None:
        """The edit's number, when it was named by one."""
        text = self.edit.strip()
        return int(text) if text.isdigit() else None


class Rerender(BaseModel):
    """Redo the generative edits as one edit of the original image; exact edits re-applied after."""

    model_config = ConfigDict(extra="forbid")


class ReplyToUser(BaseModel):
    """Answer the user in plain text without changing the image: greetings, thanks, questions about
    what you can do or what was done, and acknowledging a confirmed result.
    """

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000, description="The reply shown to the user.")


# The argument models of the control tools, in the order of their names in tools.base.
CONTROL_TOOLS: dict[str, type[BaseModel]] = dict(
    zip(CONTROL_TOOL_NAMES, (AskClarification, Undo, Redo, ConfirmPending, Forget, Rerender), strict=True)
)


def function_schema(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-format function tool, accepted by ``bind_tools`` of every chat model."""
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def clean_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema without pydantic's titles, which only cost prompt tokens.

    A fresh copy each call: callers may change it, and ``decide`` asks for every tool every turn.
    """
    return json.loads(_clean_schema_json(model))  # type: ignore[no-any-return]


@functools.cache
def _clean_schema_json(model: type[BaseModel]) -> str:
    # model_json_schema() costs ~0.2 ms per model; built once per Params class, not once per turn.
    schema = model.model_json_schema()
    schema.pop("title", None)
    schema.pop("description", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return json.dumps(schema)


def edit_tool_schema(tool: EditTool) -> dict[str, Any]:
    """The schema of an editing tool: its Params plus a required explicit ``instruction``."""
    parameters = clean_schema(tool.Params)
    properties = {"instruction": INSTRUCTION_FIELD, **parameters.get("properties", {})}
    required = ["instruction", *(r for r in parameters.get("required", []) if r != "instruction")]
    description = f"{tool_description(tool)} {capability_notes(tool.capabilities)}"
    return function_schema(tool.name, description, {**parameters, "properties": properties, "required": required})


def control_tool_schema(name: str) -> dict[str, Any]:
    """The schema of one control tool (or of the `reply` tool)."""
    model = ReplyToUser if name == REPLY_TOOL else CONTROL_TOOLS[name]
    return function_schema(name, " ".join((model.__doc__ or "").split()), clean_schema(model))


def tool_schemas(tools: Mapping[str, EditTool], *, pending: bool) -> list[dict[str, Any]]:
    """Everything the model may call this turn: edit tools, then the controls that apply."""
    controls = ["ask_clarification", "undo", "redo", "forget", "rerender"] + (["confirm_pending"] if pending else [])
    return [edit_tool_schema(t) for t in tools.values()] + [control_tool_schema(c) for c in controls]


@dataclass(frozen=True)
class EditCall:
    """A validated call of an editing tool."""

    id: str
    tool: EditTool
    instruction: str
    params: BaseModel


def validate_edit_call(tool: EditTool, call_id: str, args: Mapping[str, Any]) -> EditCall:
    """Split the explicit instruction from the tool's params and validate both.

    Raises:
        ValueError: a message for the model naming what is wrong (pydantic's text when it is).
    """
    fields = tool.Params.model_fields
    raw = dict(args)
    instruction = raw.get("instruction") if "instruction" in fields else raw.pop("instruction", None)
    if not isinstance(instruction, str) or not instruction.strip():
        raise ValueError(f"{tool.name} needs an 'instruction': the explicit edit, as a sentence")
    if len(instruction.strip()) > MAX_INSTRUCTION:
        length = len(instruction.strip())
        raise ValueError(f"the instruction is {length} characters; the limit is {MAX_INSTRUCTION}: say it shorter")
    try:
        # Strict JSON validation: the arguments arrive as JSON, and a string is not a number ("1.5" is
        # refused, not coerced); JSON mode still reads enum values and an integer for a float.
        params = tool.Params.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        raise ValueError(f"invalid arguments for {tool.name}: {brief_errors(exc)}") from None
    except (TypeError, ValueError) as exc:  # json.dumps: a value JSON cannot hold
        raise ValueError(f"invalid arguments for {tool.name}: {exc}") from None
    return EditCall(call_id, tool, instruction.strip(), params)


def validate_control_call(name: str, args: Mapping[str, Any]) -> BaseModel:
    """Validate a control call's arguments; ValueError with a message for the model otherwise."""
    try:
        return CONTROL_TOOLS[name].model_validate(dict(args))
    except ValidationError as exc:
        raise ValueError(f"invalid arguments for {name}: {brief_errors(exc)}") from None
