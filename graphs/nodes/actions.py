"""The action nodes: clarify, confirm, edit, undo and redo (each closes the turn it ends: graphs.nodes.closing)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any, Literal

from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from PIL import Image
from pydantic import BaseModel

from graphs import revisions as tree
from graphs.deps import GraphDeps
from graphs.outcomes import Outcome, OutcomeKind, outcome, proposal, tool_message
from graphs.progress import StepReporter
from graphs.recipe_plans import RECIPE_KINDS, plan_for, plan_question
from graphs.review import decision_words
from graphs.selfcheck import CheckRecord, applies, best_of
from graphs.specs import CONTROL_TOOLS, EditCall, validate_edit_call
from graphs.state import CallSpec, EditState, Revision
from graphs.storage.store import get_image, put_image
from graphs.turn import open_calls
from tools.base import check_result, recipe_settings, unavailable_reason
from tools.errors import (
    EditCancelled,
    EditFailed,
    ImageCorrupt,
    ImageMissing,
    InvalidEditRequest,
    StateStoreUnavailable,
    ToolUnavailable,
)

logger = logging.getLogger(__name__)


def clarify(state: EditState) -> dict[str, Any]:
    """Put the model's question to the user; the turn ends and the answer arrives as the next message.

    Edits still open beside it (ones this session would propose first: a proposal and a question in
    one reply would be two questions) are not run; the model sends them again with the answer.
    """
    calls = open_calls(state["messages"])
    call = calls[-1]
    question, options = call["args"]["question"], call["args"].get("options") or []
    say = question + (" Options: " + "; ".join(options) + "." if options else "")
    held = [
        tool_message(
            c["id"], "Not run: it waits with the question below; call it again with the answer.", "skipped", "",
            tool=c["name"], instruction=c["args"].get("instruction", ""),
        )
        for c in calls[:-1]
    ]  # fmt: skip
    return {"messages": [*held, tool_message(call["id"], "The question was shown to the user.", "clarify", say)]}


def confirm(state: EditState, runtime: Runtime[GraphDeps]) -> dict[str, Any]:
    """Propose the open edit calls and wait (interrupt) for the user's reply, or discard on a no.

    Nothing before ``interrupt()`` has side effects: the node re-runs from the top on resume.
    """
    messages = state["messages"]
    call = open_calls(messages)[0]
    if call["name"] == "confirm_pending":  # approve=false: the user said no
        message = tool_message(call["id"], "The pending edit was discarded.", "declined", "OK, I won't apply it.")
        return {"messages": [message], "pending": None}
    calls = edit_run(messages)
    if call["name"] in RECIPE_KINDS:  # a forget or rerender: the plan says what it will re-run
        calls = [CallSpec(id=call["id"], name=call["name"], args=dict(call["args"]))]
        plan = plan_for(
            state.get("revisions", []), state.get("head"), runtime.context.tools, call["name"], call["args"]
        )
        question = plan_question(call["name"], plan)
    else:
        question = confirmation_question(calls)
    pending = proposal(calls, question, state.get("preview"))
    answer = interrupt(pending)
    waiting = [
        tool_message(c["id"], "Proposed to the user; see their reply below.", "proposed", question) for c in calls
    ]
    # kept: its id is the request key; a chat UI's approve / edit / reject arrives as words (graphs.review)
    said = answer if isinstance(answer, HumanMessage) else HumanMessage(decision_words(answer))
    return {"messages": [*waiting, said], "pending": pending, "preview": None}


def confirmation_question(calls: list[CallSpec]) -> str:
    """The question that proposes ``calls`` to the user."""
    return "I'm about to " + "; then ".join(c["args"]["instruction"] for c in calls) + ". Shall I go ahead?"


def edit(state: EditState, runtime: Runtime[GraphDeps]) -> dict[str, Any]:
    """Run the open edit calls (or the approved pending ones) in order, each its own revision."""
    deps = runtime.context
    messages = state["messages"]
    first = open_calls(messages)[0]
    approving = first["name"] == "confirm_pending"
    pending = state.get("pending")
    calls = (pending["edits"] if pending else []) if approving else edit_run(messages)
    head = state.get("head")
    made: list[Revision] = []
    results: list[ToolMessage] = []
    index = dict(tree.by_id(state.get("revisions", [])))  # this turn's revisions are added below
    for position, spec in enumerate(calls):
        reply_id = first["id"] if approving else spec["id"]
        if position >= deps.limits.edits_per_message:
            text = f"Skipped: at most {deps.limits.edits_per_message} edits per message."
            results.append(tool_message(reply_id, text, "skipped", text))
            continue
        if results and kind_of(results[-1]) == "failed":
            text = "Not run because the edit before it failed."
            results.append(tool_message(reply_id, text, "skipped", ""))
            continue
        revision, message = run_edit(deps, spec, reply_id, index[head] if head else None, runtime)
        results.append(message)
        if revision is not None:
            made.append(revision)
            index[revision["id"]] = revision
            head = revision["id"]
    if approving:
        results = (
            [merged_answer(first["id"], results)]
            if results
            else [
                tool_message(first["id"], "Nothing is awaiting confirmation.", "failed", "There was nothing to apply.")
            ]
        )
    update: dict[str, Any] = {"messages": results, "revisions": made, "head": head, "pending": None}
    if made:
        update["redo_stack"] = []  # an edit after undo starts a branch
    return update


def run_edit(
    deps: GraphDeps, spec: CallSpec, reply_id: str, parent: Revision | None, runtime: Runtime[GraphDeps]
) -> tuple[Revision | None, ToolMessage]:
    """Run one edit on the parent image; a failure makes no revision and explains why."""
    call = validate_edit_call(deps.tools[spec["name"]], spec["id"], spec["args"])
    name = call.tool.name
    recipe = {"tool": name, "instruction": call.instruction}
    if parent is None:
        return None, tool_message(reply_id, "No image is loaded.", "failed", "There is no image to edit yet.", **recipe)
    start = time.perf_counter()
    revision, message, outcome = attempt_edit(deps, call, parent, reply_id, runtime)
    deps.observer.tool_ran(name, time.perf_counter() - start, outcome)
    return revision, message


def attempt_edit(
    deps: GraphDeps, call: EditCall, parent: Revision, reply_id: str, runtime: Runtime[GraphDeps]
) -> tuple[Revision | None, ToolMessage, str]:
    """Apply the edit; a failure makes no revision and says why. The third value names the outcome for
    the metrics: ok, invalid, cancelled, image_lost, failed or crashed.
    """
    name = call.tool.name
    recipe = {"tool": name, "instruction": call.instruction}
    try:
        revision = apply(deps, call, parent, runtime)
    except InvalidEditRequest as exc:
        text = f"I couldn't {call.instruction}: {exc}."
        return None, tool_message(reply_id, f"Not applied: {exc}", "failed", text, **recipe), "invalid"
    except EditCancelled:
        logger.info("edit %s cancelled", name)
        text = f"Cancelled '{call.instruction}'. The image is unchanged."
        return None, tool_message(reply_id, "Cancelled by the user.", "failed", text, **recipe), "cancelled"
    except (ImageMissing, ImageCorrupt) as exc:
        logger.error("edit %s cannot read revision %s: %s", name, parent["id"], exc)
        kind = "missing" if isinstance(exc, ImageMissing) else "corrupt"
        text = f"I can't {call.instruction}: the stored image of the current revision is {kind}. Undo to keep editing."
        return None, tool_message(reply_id, f"Failed: {exc}", "failed", text, **recipe), "image_lost"
    except EditFailed as exc:
        logger.warning("edit %s failed: %s", name, exc)
        text = f"The edit '{call.instruction}' failed: {exc}. The image is unchanged."
        return None, tool_message(reply_id, f"Failed: {exc}", "failed", text, **recipe), "failed"
    except StateStoreUnavailable:
        raise  # the image bucket is down or slow: the turn fails as retryable (503) and the edit runs on retry
    except Exception:  # the boundary around tool code: ours or a plug-in's bug must not end the session
        logger.exception("tool %s crashed", name)
        text = f"The {name} tool crashed while trying to {call.instruction}. The image is unchanged."
        return None, tool_message(reply_id, f"Failed: the {name} tool crashed.", "failed", text, **recipe), "crashed"
    content = f"Applied {name} as revision {revision['id']}, now the current image: {call.instruction}."
    say = f"Done: {call.instruction}." + check_note(revision)
    message = tool_message(reply_id, content, "edit", say, revision=revision["id"], **recipe)
    return revision, message, "ok"


def apply(
    deps: GraphDeps, call: EditCall, parent: Revision, runtime: Runtime[GraphDeps], seed: int | None = None
) -> Revision:
    """Read the parent image, run the tool (one GPU edit at a time), store the result as a revision.

    Args:
        seed: the seed to use (a recorded one, when a recipe is re-run); default: the call's own, else chosen.
    """
    reason = unavailable_reason(call.tool)
    if reason:
        raise ToolUnavailable(reason)
    image = get_image(deps.store, parent["image"])
    params = call.params.model_dump(mode="json")
    rerun = seed is not None  # a recorded recipe: reproduce it, never self-check it into another seed
    seed = params.get("seed") if seed is None else seed
    if seed is None:
        seed = edit_seed(deps, parent["image"], call.tool.name, params)
    call.tool.check_inputs(image, call.params)
    progress = StepReporter(deps, call.tool.name, runtime.stream_writer, every=deps.previews.every)

    def run(params_: BaseModel, seed_: int) -> Image.Image:
        if call.tool.capabilities.device == "gpu":
            with deps.gpu_slot:
                return call.tool(image, params_, seed=seed_, progress=progress)
        return call.tool(image, params_, seed=seed_, progress=progress)

    start = time.perf_counter()
    record: CheckRecord | None = None
    ran = call.params
    if deps.self_check is not None and not rerun and applies(deps.self_check, call.tool):
        checked = best_of(
            deps.self_check, run, source=image, params=call.params, seed=seed, instruction=call.instruction
        )
        result, ran, seed, record = checked
        params = ran.model_dump(mode="json")
    else:
        result = run(call.params, seed)
    key = put_image(deps.store, check_result(call.tool.name, result))
    logger.info(
        "edit %s %s -> %s in %.3fs",
        call.tool.name,
        parent["image"][:12],
        key[:12],
        time.perf_counter() - start,
    )
    settings = recipe_settings(call.tool, ran)
    recipe = {**params, **({"settings": settings} if settings else {}), "seed": seed}
    revision = tree.new_revision(
        key, parent=parent["id"], instruction=call.instruction, tool=call.tool.name, params=recipe
    )
    if record is not None:
        revision["check"] = record
    return revision


def check_note(revision: Revision) -> str:
    """What the user is told when the self-check found no attempt that passed ("" otherwise)."""
    record = revision.get("check")
    if record is None or record["passed"]:
        return ""
    kept = record["attempts"][record["kept"]]
    return (
        f" None of {len(record['attempts'])} attempts passed the self-check; I kept the closest "
        f"(directional similarity {kept['directional_similarity']:.2f}, similarity to the input "
        f"{kept['image_similarity']:.2f}). Undo, or rephrase the instruction."
    )


def edit_seed(deps: GraphDeps, image_key: str, tool: str, params: dict[str, Any]) -> int:
    """The seed of an edit whose params name none: the configured one, else one derived from its recipe."""
    return deps.seed if deps.seed is not None else derived_seed(image_key, tool, params)


def derived_seed(image_key: str, tool: str, params: dict[str, Any]) -> int:
    """A reproducible seed: the same request on the same image gives the same result."""
    text = json.dumps([image_key, tool, params], sort_keys=True)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


def merged_answer(call_id: str, results: list[ToolMessage]) -> ToolMessage:
    """One ToolMessage answering confirm_pending with the outcome of every approved edit."""
    found = [o for r in results if (o := outcome(r)) is not None]
    kind: OutcomeKind = "edit" if any(o["kind"] == "edit" for o in found) else "failed"
    content = " ".join(str(r.content) for r in results)
    say = " ".join(o["say"] for o in found).strip()
    last: Outcome | dict[str, Any] = next((o for o in reversed(found) if "tool" in o), {})
    extra = {k: last[k] for k in ("revision", "tool", "instruction") if k in last}
    return tool_message(call_id, content, kind, say, **extra)


def kind_of(message: ToolMessage) -> str | None:
    """The outcome kind of a ToolMessage this node made."""
    found = outcome(message)
    return found["kind"] if found else None


def edit_run(messages: list[Any]) -> list[CallSpec]:
    """The consecutive open edit calls at the front of the queue (an undo or question ends the run)."""
    run: list[CallSpec] = []
    for call in open_calls(messages):
        if call["name"] in CONTROL_TOOLS:
            break
        run.append(CallSpec(id=call["id"], name=call["name"], args=dict(call["args"])))
    return run


def undo(state: EditState) -> dict[str, Any]:
    """Move head to an ancestor; nothing is deleted, and the undone path can be redone."""
    return move_head(state, "undo")


def redo(state: EditState) -> dict[str, Any]:
    """Walk back down the path last undone."""
    return move_head(state, "redo")


def move_head(state: EditState, kind: Literal["undo", "redo"]) -> dict[str, Any]:
    """Apply an undo or redo call; asking for more steps than exist moves as far as possible."""
    call = open_calls(state["messages"])[0]
    steps = int(call["args"].get("steps", 1))
    revisions, head, stack = state.get("revisions", []), state.get("head"), state.get("redo_stack", [])
    move = tree.undo(revisions, head, stack, steps) if kind == "undo" else tree.redo(head, stack, steps)
    if move.moved == 0:
        text = (
            "There is nothing to undo: this is the original image." if kind == "undo" else "There is nothing to redo."
        )
        return {"messages": [tool_message(call["id"], text, kind, text, steps=0)]}
    assert move.head is not None
    verb = "Undid" if kind == "undo" else "Redid"
    current = tree.describe(tree.by_id(revisions)[move.head])
    text = f"{verb} {move.moved} edit{'s' if move.moved > 1 else ''}; the image is now {current}."
    if move.moved < steps:
        text += f" (Only {move.moved} could be {kind}ne.)"
    message = tool_message(call["id"], text, kind, text, steps=move.moved)
    return {"messages": [message], "head": move.head, "redo_stack": move.redo_stack}
