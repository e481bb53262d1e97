"""The recipe nodes: forget one earlier edit and re-apply the rest, or re-render from the original.

Both re-run recorded recipes (graphs.recipe_plans) as new revisions: nothing is deleted, and the
revision that was current before goes on the redo stack, so "redo" brings the old branch back and
"undo" walks the new one. A plan that re-runs a costly tool is confirmed first under ``auto``.
"""

from __future__ import annotations

import logging
from typing import Any

from langgraph.runtime import Runtime

from graphs import revisions as tree
from graphs.deps import GraphDeps
from graphs.nodes.actions import apply
from graphs.outcomes import tool_message
from graphs.recipe_plans import NoMatchingEdit, Plan, PlanError, RecipeKind, plan_for
from graphs.recipes import recorded_call
from graphs.specs import EditCall
from graphs.state import EditState, Revision
from graphs.turn import open_calls, previous_turn_kinds
from tools.errors import DialogPaintError

logger = logging.getLogger(__name__)


def state_plan(state: EditState, deps: GraphDeps, call: dict[str, Any]) -> Plan:
    """The plan of a forget or rerender call on the current state."""
    return plan_for(state.get("revisions", []), state.get("head"), deps.tools, call["name"], call["args"])


def needs_recipe_confirmation(state: EditState, deps: GraphDeps, call: dict[str, Any]) -> bool:
    """The confirmation policy for a forget or rerender: ``auto`` confirms one that re-runs a costly tool."""
    if deps.confirm == "never" or "proposed" in previous_turn_kinds(state["messages"]):
        return False
    try:
        plan = state_plan(state, deps, call)
    except (PlanError, ValueError):
        return False  # the node explains why it cannot run; there is nothing to confirm
    if deps.confirm == "always":
        return True
    tools = [deps.tools[name] for name in plan.tools() if name in deps.tools]
    return any(t.capabilities.needs_confirmation or t.capabilities.cost == "high" for t in tools)


def forget(state: EditState, runtime: Runtime[GraphDeps]) -> dict[str, Any]:
    """Forget one earlier edit: re-apply the later ones to the image before it, as new revisions."""
    return run_recipe(state, runtime, "forget")


def rerender(state: EditState, runtime: Runtime[GraphDeps]) -> dict[str, Any]:
    """Re-render from the original: one generative edit with the instructions merged, then the exact edits."""
    return run_recipe(state, runtime, "rerender")


def run_recipe(state: EditState, runtime: Runtime[GraphDeps], kind: RecipeKind) -> dict[str, Any]:
    """Run the open call of ``kind`` (or the approved pending one) and move head to its result."""
    first = open_calls(state["messages"])[0]
    pending = state.get("pending")
    call: dict[str, Any] = dict(pending["edits"][0]) if first["name"] == "confirm_pending" and pending else first
    update: dict[str, Any] = {"pending": None}
    try:
        plan = state_plan(state, runtime.context, {**call, "name": kind})
        made = rerun(plan, runtime)
    except NoMatchingEdit as exc:  # a reference that matches nothing gets a question, not a failure
        return {
            **update,
            "messages": [tool_message(first["id"], f"Not done: {exc}", "clarify", exc.question, tool=kind)],
        }
    except (PlanError, ValueError, DialogPaintError) as exc:
        text = f"I couldn't {'forget that edit' if kind == 'forget' else 're-render'}: {exc}. The image is unchanged."
        return {**update, "messages": [tool_message(first["id"], f"Not done: {exc}", "failed", text, tool=kind)]}
    except Exception:  # the boundary around tool code, as in graphs.nodes.actions.run_edit
        logger.exception("%s: a tool crashed while re-running", kind)
        text = "A tool crashed while re-running the edits. The image is unchanged."
        return {**update, "messages": [tool_message(first["id"], "Failed: a tool crashed.", "failed", text, tool=kind)]}
    head = made[-1]["id"] if made else plan.base["id"]
    logger.info("%s: %d edit(s) re-run from %s", kind, len(made), plan.base["id"])
    say = recipe_summary(kind, plan)
    message = tool_message(first["id"], say, kind, say, revision=head, steps=len(made))
    return {**update, "messages": [message], "revisions": made, "head": head, "redo_stack": [plan.head]}


def rerun(plan: Plan, runtime: Runtime[GraphDeps]) -> list[Revision]:
    """Run the plan's recipes in order from its base, each a new revision with its recorded seed."""
    deps = runtime.context
    parent, made = plan.base, []
    for recipe in plan.recipes:
        recorded = recorded_call(deps.tools, recipe)
        call = EditCall("rerun", recorded.tool, recorded.instruction, recorded.params)
        parent = apply(deps, call, parent, runtime, seed=recorded.seed)
        made.append(parent)
    return made


def recipe_summary(kind: RecipeKind, plan: Plan) -> str:
    """What the user is told once the plan has run."""
    if kind == "rerender":
        return (
            f"Re-rendered from the original: {len(plan.dropped)} generative edits as one, "
            f"then {len(plan.recipes) - 1} exact edit(s). Say redo to get the chained version back."
        )
    kept = (
        f" and re-applied the edits after it: {'; '.join(r.instruction for r in plan.recipes)}" if plan.recipes else ""
    )
    return f"Forgot {tree.describe(plan.dropped[0])}{kept}. Say redo to bring it back."
