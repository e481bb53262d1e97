"""Revisions as recipes: re-running a revision's recorded (tool, params, seed) chain from the original.

A revision records everything its tool needs to make it again (graphs.state.Revision), and every
tool reads only its input image, its params and its seed. So a chain can be re-run on the original
image (replay), on an earlier revision (forget one edit, keep the rest), or in part (re-render).
These functions work on images in memory: nothing here writes the store or the graph state.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from PIL import Image
from pydantic import BaseModel, ValidationError

from graphs.recipe_plans import Recipe, recipe_of
from graphs.revisions import lineage
from graphs.state import Revision
from graphs.storage.store import image_key
from tools.base import EditTool, check_result, unavailable_reason
from tools.errors import ImageNotFound, InvalidEditRequest, ToolUnavailable, brief_errors
from tools.images import encode_png


@dataclass(frozen=True)
class RecordedCall:
    """One revision's recipe, validated against the tool it names."""

    tool: EditTool
    instruction: str
    params: BaseModel
    seed: int


def recorded_call(tools: Mapping[str, EditTool], recipe: Recipe) -> RecordedCall:
    """The call a recipe records, ready to run again.

    Raises:
        ToolUnavailable: the tool it names is not registered here.
        InvalidEditRequest: its recorded params no longer validate (the tool changed) or it has no seed.
    """
    tool = tools.get(recipe.tool)
    if tool is None:
        raise ToolUnavailable(f"the edit '{recipe.instruction}' was made by {recipe.tool!r}, not available here")
    fields = tool.Params.model_fields
    raw: dict[str, Any] = {k: v for k, v in recipe.params.items() if k in fields}
    if "instruction" in fields:
        raw["instruction"] = recipe.instruction
    try:
        params = tool.Params.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEditRequest(f"the recorded params of {recipe.tool} do not validate: {brief_errors(exc)}") from None
    seed = recipe.params.get("seed")
    if not isinstance(seed, int):
        raise InvalidEditRequest(f"the edit '{recipe.instruction}' records no seed, so it cannot be re-run exactly")
    return RecordedCall(tool, recipe.instruction, params, seed)


def run_recorded(call: RecordedCall, image: Image.Image, gpu_slot: threading.Semaphore | None = None) -> Image.Image:
    """Run a recorded call on ``image`` with its recorded seed, holding ``gpu_slot`` for a GPU tool."""
    reason = unavailable_reason(call.tool)
    if reason:
        raise ToolUnavailable(reason)
    call.tool.check_inputs(image, call.params)
    slot = gpu_slot if gpu_slot is not None and call.tool.capabilities.device == "gpu" else nullcontext()
    with slot:
        result = call.tool(image, call.params, seed=call.seed)
    return check_result(call.tool.name, result)


def edits_to(revisions: Sequence[Revision], revision_id: str) -> list[Revision]:
    """The edits from the upload to ``revision_id``, oldest first (the upload itself left out)."""
    path = lineage(revisions, revision_id)
    if not path:
        raise ImageNotFound(f"no revision {revision_id!r} among the session's {len(revisions)} revisions")
    return path[1:]


@dataclass(frozen=True)
class Replayed:
    """A revision rebuilt from the original: the image, its store key and whether it matches the record."""

    image: Image.Image
    key: str  # sha256 of the rebuilt image's canonical PNG
    expected: str  # the store key the last revision of the chain recorded
    steps: int
    diverged_at: int | None = None  # the first edit (1-based) whose rebuilt image is not the one recorded

    @property
    def matches(self) -> bool:
        """True when every step rebuilt bit for bit the image its revision recorded, the last one included."""
        return self.diverged_at is None and self.key == self.expected


def replay_chain(
    tools: Mapping[str, EditTool],
    original: Image.Image,
    chain: Sequence[Revision],
    gpu_slot: threading.Semaphore | None = None,
) -> Replayed:
    """Rebuild the last revision of ``chain`` by running every recipe in order on ``original``.

    Every step's image is checked against the key its revision recorded, not only the last: a chain
    whose middle was forged (or drifted and came back) does not match.
    """
    image, key, diverged_at = original, image_key(encode_png(original)), None
    for step, revision in enumerate(chain, start=1):
        if revision["tool"] is None:
            raise InvalidEditRequest(f"revision {revision['id']} is an original image, not an edit")
        image = run_recorded(recorded_call(tools, recipe_of(revision)), image, gpu_slot)
        key = image_key(encode_png(image))
        if diverged_at is None and key != revision["image"]:
            diverged_at = step
    expected = chain[-1]["image"] if chain else key
    return Replayed(image=image, key=key, expected=expected, steps=len(chain), diverged_at=diverged_at)
