"""Training examples from scripted dialogues: each turn with the context it would meet, teacher-forced.

The context of turn i follows from the expected acts before it (the policy is assumed to have done
what the script expects): a question was asked, an edit applied or proposed, edits available to
undo. The rules are run on that context exactly as at inference, so their vote is a feature.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agent.policy.acts import rules_stand
from agent.policy.context import Context, act_context
from agent.policy.features import ActContext, Features
from agent.policy.learned import decision_features
from agent.policy.rules import respond
from agent.policy.text import normalize
from graphs.specs import tool_schemas
from tools.registry import load_registry

GENERATIVE = "instruct_pix2pix"


@dataclass(frozen=True)
class Example:
    """One decision to learn: its features, the act expected, and where it came from."""

    features: Features
    act: str
    vote: str  # what the rules alone decide
    kept: bool  # the rules' decision stands whatever the model says (local.rules_stand)
    source: str
    context: ActContext


@lru_cache(maxsize=2)
def _tools(pending: bool) -> dict[str, dict[str, Any]]:
    schemas = tool_schemas(load_registry(plugins=False), pending=pending)
    return {s["function"]["name"]: s for s in schemas}


def examples(dialogue: dict[str, Any], source: str) -> Iterator[Example]:
    """The teacher-forced examples of one dialogue (eval format; ``confirm``: edits are proposed first)."""
    confirm = bool(dialogue.get("confirm"))
    edits, previous, prev_text = 0, "", ""
    for turn in dialogue["turns"]:
        pending = confirm and previous == "edit"
        ctx = Context(text=normalize(turn["user"]), tools=_tools(pending), generative_tools=frozenset({GENERATIVE}))
        ctx.edit_count, ctx.pending = edits, pending
        ctx.clarified_request = prev_text if previous == "clarify" else ""
        ctx.last_edit = prev_text if previous == "edit" and not confirm else ""
        ctx.pending_instruction = prev_text if pending else ""
        vote = respond(ctx).act
        context = act_context(ctx)
        features = decision_features(ctx.text, context, vote)
        yield Example(features, turn["expect"], vote, rules_stand(ctx, vote), source, context)
        act = turn["expect"]
        if (act == "edit" and not confirm) or (act == "confirm_yes" and pending) or act == "redo":
            edits += 1
        elif act == "undo" or (act == "confirm_no" and previous == "edit" and not confirm):
            edits = max(0, edits - int(turn.get("undo_steps") or 1))
        previous, prev_text = act, ctx.text


def all_examples(dialogues: Iterable[dict[str, Any]]) -> list[Example]:
    """Examples of every dialogue, its source named by the dialogue's ``source.repo`` (or ``id`` prefix)."""
    found: list[Example] = []
    for dialogue in dialogues:
        found.extend(examples(dialogue, source_of(dialogue)))
    return found


def source_of(dialogue: dict[str, Any]) -> str:
    """The source a dialogue counts under for leave-one-source-out."""
    source = dialogue.get("source")
    if isinstance(source, dict) and source.get("repo"):
        return str(source["repo"])
    return str(source or dialogue["id"].split("-")[0])
