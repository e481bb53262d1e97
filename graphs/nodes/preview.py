"""The preview node: a cheap rendering of proposed edits, made before the confirm node asks.

A node of its own because ``confirm`` re-runs from its top when resumed and must do nothing with side
effects before ``interrupt()``; this one runs once, stores the picture in the image store and leaves
its key (never pixels) in state for ``confirm`` to put in the proposal. The seeds it used go into the
proposed calls, so "yes" makes the full-quality edit of the same noise.
"""

from __future__ import annotations

import logging
from typing import Any

from langgraph.runtime import Runtime
from PIL import Image

from graphs.deps import GraphDeps
from graphs.nodes.actions import edit_run, edit_seed
from graphs.progress import StepReporter
from graphs.specs import validate_edit_call
from graphs.state import CallSpec, EditState, Preview, head_revision
from graphs.storage.store import get_image, put_image
from tools.base import EditTool, preview_of
from tools.errors import EditCancelled, ToolUnavailable

logger = logging.getLogger(__name__)


def previewable(deps: GraphDeps, calls: list[CallSpec]) -> bool:
    """Whether proposing ``calls`` comes with a preview: previews are on and a proposed tool makes them."""
    return deps.previews.confirm and any(preview_of(deps.tools[c["name"]]) is not None for c in calls)


def preview(state: EditState, runtime: Runtime[GraphDeps]) -> dict[str, Any]:
    """Render the proposed edits cheaply; on any failure the proposal just comes without a preview."""
    deps = runtime.context
    calls = edit_run(state["messages"])
    try:
        made = render(deps, calls, head_revision(state.get("revisions", []), state.get("head")), runtime)
    except EditCancelled:
        logger.info("preview of %s cancelled", ", ".join(c["name"] for c in calls))
        made = None
    except ToolUnavailable as exc:  # no weights or GPU here: expected, and the edit itself will say so
        logger.warning("no preview of %s: %s", ", ".join(c["name"] for c in calls), exc)
        made = None
    except Exception:  # the boundary around tool code: a preview that fails must not stop the proposal
        logger.exception("preview of %s failed", ", ".join(c["name"] for c in calls))
        made = None
    return {"preview": made}


def render(deps: GraphDeps, calls: list[CallSpec], head: Any, runtime: Runtime[GraphDeps]) -> Preview | None:
    """Run each call on the head image, previewing tools that can and running the cheap ones as they are.

    None when a costly tool in the run cannot preview itself (a preview would cost as much as the edit).
    """
    image: Image.Image = get_image(deps.store, head["image"])
    seeds: dict[str, int] = {}
    for spec in calls:
        tool: EditTool = deps.tools[spec["name"]]
        call = validate_edit_call(tool, spec["id"], spec["args"])
        params = call.params.model_dump(mode="json")
        seed = params.get("seed")
        seed = edit_seed(deps, head["image"], tool.name, params) if seed is None else seed
        if "seed" in tool.Params.model_fields:
            seeds[spec["id"]] = seed
        quick = preview_of(tool)
        if quick is None and (tool.capabilities.cost == "high" or tool.capabilities.device != "cpu"):
            return None
        tool.check_inputs(image, call.params)
        progress = StepReporter(deps, tool.name, runtime.stream_writer, every=0)  # cancel lands here too
        image = (quick or tool)(image, call.params, seed=seed, progress=progress)
    key = put_image(deps.store, image)
    logger.info("preview of %d edit(s) on %s -> %s", len(calls), head["image"][:12], key[:12])
    return Preview(image=key, width=image.width, height=image.height, seeds=seeds)
