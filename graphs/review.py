"""The human-in-the-loop request shape of a proposal, and the words a reviewer's decision stands for.

Chat UIs built on LangGraph (agent-chat-ui, LangChain's HumanInTheLoopMiddleware) show an interrupt
whose value has ``action_requests`` and ``review_configs`` with approve / edit / reject buttons,
and resume it with ``{"decisions": [...]}``. A proposal carries that shape beside its own fields
(``review_request``); ``decision_words`` turns a resume value back into what the user said, so the
confirm node and the dialogue model see one kind of answer whatever the surface: approve is "yes",
reject "no", and an edit of the instruction is the new instruction (which the model carries out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NotRequired, TypedDict

Decision = Literal["approve", "edit", "reject"]
EDIT_DECISIONS: list[Decision] = ["approve", "edit", "reject"]
RECIPE_DECISIONS: list[Decision] = ["approve", "reject"]  # a forget or rerender has no instruction to edit


class ActionRequest(TypedDict):
    """One proposed call, as a reviewer sees it."""

    name: str
    args: dict[str, Any]
    description: NotRequired[str]


class ReviewConfig(TypedDict):
    """Which decisions a reviewer may take on the calls of one name."""

    action_name: str
    allowed_decisions: list[Decision]


def review_fields(
    calls: Sequence[tuple[str, dict[str, Any]]], question: str, recipe: bool
) -> tuple[list[ActionRequest], list[ReviewConfig]]:
    """The action requests and review configs of proposed calls (name, args).

    An edit is shown by its instruction only, the one thing a reviewer edits (the tool's parameters
    follow from it when the model carries out the edited instruction); a forget or rerender as is.
    """
    requests = [
        ActionRequest(
            name=name,
            args={"instruction": args["instruction"]} if "instruction" in args else dict(args),
            description=question,
        )
        for name, args in calls
    ]
    allowed = RECIPE_DECISIONS if recipe else EDIT_DECISIONS
    names = dict.fromkeys(name for name, _ in calls)
    return requests, [ReviewConfig(action_name=name, allowed_decisions=list(allowed)) for name in names]


def decision_words(answer: Any) -> str:
    """What a resume value says: text as is; a HITL response (``{"decisions": [...]}`` or the list) as words.

    Raises:
        ValueError: a decision of no known type, or an edit without an instruction.
    """
    if isinstance(answer, str):
        return answer
    decisions = answer.get("decisions") if isinstance(answer, dict) else answer
    if not isinstance(decisions, list) or not decisions or not isinstance(decisions[0], dict):
        return str(answer)
    first = decisions[0]  # one proposal, one decision: the calls of a message are approved together
    kind = first.get("type")
    if kind in ("approve", "accept"):
        return "yes"
    if kind in ("reject", "ignore"):
        return "no"
    if kind == "edit":
        action = first.get("edited_action") or first.get("args") or {}
        instruction = (action.get("args") or {}).get("instruction") if isinstance(action, dict) else None
        if not isinstance(instruction, str) or not instruction.strip():
            raise ValueError("an edit decision must carry edited_action.args.instruction, the new instruction")
        return instruction
    raise ValueError(f"unknown decision type {kind!r}: approve, edit or reject")
