"""The EditTool protocol every editing tool implements, and the record of what a tool can do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Generic, Literal, Protocol, TypeVar, cast, get_args, runtime_checkable

from PIL import Image
from pydantic import BaseModel

from tools.errors import EditFailed, InvalidEditRequest, ToolUnavailable

P = TypeVar("P", bound=BaseModel)

Device = Literal["cpu", "gpu", "remote"]
Cost = Literal["low", "medium", "high"]

ANY_SIDE = 2**31 - 1
"""The ``max_side`` of a tool that resizes its input itself, so takes any image an upload may be."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(step, total)``; raising EditCancelled from it stops the tool."""


class StepFrames(Protocol):
    """A progress callback that also takes a cheap picture of the unfinished result every ``every`` steps.

    A tool that can show its work (the diffusion editor) finds ``frame`` by name on the callback it is
    given and calls it just before ``progress`` for the same step; other tools never see the difference.
    """

    every: int

    def __call__(self, step: int, total: int) -> None:
        """Report progress, as a ProgressCallback."""

    def frame(self, step: int, image: Image.Image) -> None:
        """Take the picture of the result as it stands after ``step``."""


def step_frames(progress: ProgressCallback | None) -> StepFrames | None:
    """``progress`` when it takes step pictures (a ``frame`` method and ``every`` > 0), else None."""
    every = getattr(progress, "every", 0)
    if callable(getattr(progress, "frame", None)) and isinstance(every, int) and every > 0:
        return cast(StepFrames, progress)
    return None


# The control tools the dialogue model calls besides the editing tools; `reply` is offered only in the
# `required` tool mode, where every answer is a tool call. No editing tool may take one of these names.
CONTROL_TOOL_NAMES = ("ask_clarification", "undo", "redo", "confirm_pending", "forget", "rerender")
REPLY_TOOL = "reply"
MAX_STEPS = 50  # most edits one undo or redo may move over


def check_result(tool: str, image: Image.Image) -> Image.Image:
    """``image`` if it is a usable tool result (RGB, not empty); EditFailed naming ``tool`` otherwise."""
    if image.mode != "RGB" or min(image.size) < 1:
        raise EditFailed(f"{tool} returned a {image.mode} image of size {image.size}")
    return image


@dataclass(frozen=True)
class ToolCapabilities:
    """What the graph and the dialogue model need to know about a tool before running it."""

    device: Device = "cpu"
    cost: Cost = "low"
    deterministic: bool = True  # False: the output depends on the seed
    max_side: int = 8192  # longest input side the tool accepts, in pixels
    needs_confirmation: bool = False
    takes_mask: bool = False
    generative: bool = False  # follows free-form instructions; the fallback when no specific tool fits

    def __post_init__(self) -> None:
        """Refuse values outside the declared choices: plug-ins and remote servers fill these in."""
        for field, choices in (("device", get_args(Device)), ("cost", get_args(Cost))):
            value = getattr(self, field)
            if value not in choices:
                raise ValueError(f"{field} must be one of {', '.join(choices)}, got {value!r}")
        if isinstance(self.max_side, bool) or not isinstance(self.max_side, int) or self.max_side < 1:
            raise ValueError(f"max_side must be a positive int (pixels), got {self.max_side!r}")
        for field in ("deterministic", "needs_confirmation", "takes_mask", "generative"):
            if not isinstance(getattr(self, field), bool):
                raise ValueError(f"{field} must be true or false, got {getattr(self, field)!r}")


@runtime_checkable
class EditTool(Protocol):
    """An image editor the dialogue model can call: typed, bounded params in, a new RGB image out.

    Optional methods, found by name (see ``readiness``, ``unavailable_reason`` and ``load_now`` below):
    ``readiness() -> Readiness`` says cheaply whether the tool can run here now and, when not, why
    and what would enable it; ``unavailable_reason() -> str | None`` is the older one-string form
    (either is enough); ``load()`` loads a model ahead of the first edit.
    """

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    capabilities: ClassVar[ToolCapabilities]

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """Raise InvalidEditRequest when this image and params cannot be edited; never clamp."""

    def __call__(
        self,
        image: Image.Image,
        params: BaseModel,
        *,
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> Image.Image:
        """Return the edited image."""


class PillowTool(Generic[P]):
    """Shared base of the CPU tools: deterministic, seed-free, one ``apply`` method each."""

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    capabilities: ClassVar[ToolCapabilities] = ToolCapabilities()

    def apply(self, image: Image.Image, params: P) -> Image.Image:
        """Return the edited image; subclasses implement this."""
        raise NotImplementedError

    def __call__(
        self,
        image: Image.Image,
        params: BaseModel,
        *,
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> Image.Image:
        """Run ``apply``; Pillow tools ignore the seed and finish in one step."""
        if not isinstance(params, self.Params):
            raise TypeError(f"{self.name} expects {self.Params.__name__}, got {type(params).__name__}")
        return self.apply(image, cast(P, params))

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """Refuse images whose longest side exceeds the tool's limit."""
        check_max_side(self, image)


@dataclass(frozen=True)
class Readiness:
    """Whether a tool can run here now; when it cannot, why (``reason``) and what would enable it (``enable``).

    Readers: the graph offers the dialogue model only ready tools and tells it which capabilities are
    missing (graphs.facts); ``dialogpaint tools``, ``/healthz`` and the chat page show it.
    """

    ready: bool
    reason: str = ""  # e.g. "instruct_pix2pix has no model configured"
    enable: str = ""  # e.g. "install the GPU extra (pip install 'dialogpaint[gpu]'), then ... --model-path DIR"

    def __post_init__(self) -> None:
        """A tool that is not ready must say why."""
        if not self.ready and not self.reason.strip():
            raise ValueError("a tool that is not ready needs a reason")

    def explain(self) -> str:
        """One line for people: 'ready', or the reason and how to enable it."""
        if self.ready:
            return "ready"
        return f"{self.reason}; to enable: {self.enable}" if self.enable else self.reason


READY = Readiness(True)


def readiness(tool: EditTool) -> Readiness:
    """Whether ``tool`` can run here now: its optional ``readiness()``, else its ``unavailable_reason()``."""
    own: Callable[[], Readiness] | None = getattr(tool, "readiness", None)
    if callable(own):
        found = own()
        if not isinstance(found, Readiness):
            raise TypeError(f"{tool.name}.readiness() returned {type(found).__name__}, not a Readiness")
        return found
    reason: Callable[[], str | None] | None = getattr(tool, "unavailable_reason", None)
    problem = reason() if callable(reason) else None
    return READY if problem is None else Readiness(False, problem)


def unavailable_reason(tool: EditTool) -> str | None:
    """Why ``tool`` cannot run here (its optional ``unavailable_reason()`` or ``readiness()``), or None."""
    reason: Callable[[], str | None] | None = getattr(tool, "unavailable_reason", None)
    if callable(reason):
        return reason()
    found = readiness(tool)
    return None if found.ready else found.explain()


def recipe_settings(tool: EditTool, params: BaseModel) -> dict[str, object]:
    """What the tool's optional ``recipe_settings(params)`` says a replay needs beyond the params (the exact
    prompt sent, pipeline, dtype, scheduler, LoRA...), recorded under ``settings`` in the recipe; {} if none.
    """
    settings: Callable[[BaseModel], dict[str, object]] | None = getattr(tool, "recipe_settings", None)
    return dict(settings(params)) if callable(settings) else {}


def preview_of(tool: EditTool) -> Callable[..., Image.Image] | None:
    """The tool's optional ``preview(image, params, *, seed, progress=None)``, or None when it has none.

    A preview is a cheap look at what ``__call__`` would make with the same params and seed (fewer
    steps, a smaller working size): shown with a confirmation, never stored as a revision.
    """
    preview: Callable[..., Image.Image] | None = getattr(tool, "preview", None)
    return preview if callable(preview) else None


def load_now(tool: EditTool) -> bool:
    """Load the tool's model now through its optional ``load()``; False when it has none."""
    load: Callable[[], object] | None = getattr(tool, "load", None)
    if not callable(load):
        return False
    load()
    return True


def make_ready(tool: EditTool, role: str) -> None:
    """Check that ``tool`` can run here and load its model now, so a missing package, model or GPU
    stops startup rather than the first edit; ToolUnavailable("{role}: {reason}") if it cannot.
    """
    problem = unavailable_reason(tool)
    if problem:
        raise ToolUnavailable(f"{role}: {problem}")
    load_now(tool)


def check_max_side(tool: type[EditTool] | EditTool, image: Image.Image) -> None:
    """Raise InvalidEditRequest when the image's longest side exceeds ``tool.capabilities.max_side``."""
    limit = tool.capabilities.max_side
    if max(image.size) > limit:
        raise InvalidEditRequest(
            f"{tool.name} accepts images up to {limit} px on the longest side; this one is {image.width}x{image.height}"
        )


def tool_description(tool: type[EditTool] | EditTool) -> str:
    """What the tool does: the Params docstring, one paragraph."""
    doc = tool.Params.__doc__ or ""
    return " ".join(doc.split())


GENERATIVE_NOTE = "Follows free-form instructions."


def capability_notes(caps: ToolCapabilities) -> str:
    """The capabilities that change how the model should use a tool, as short sentences.

    Defaults (deterministic, no confirmation, no mask, the 8192 px limit or none) cost no tokens.
    """
    where = {"cpu": "the CPU", "gpu": "a GPU", "remote": "a remote server"}[caps.device]
    notes = [f"Runs on {where}, cost {caps.cost}."]
    if caps.generative:
        notes.append(GENERATIVE_NOTE)
    if caps.takes_mask:
        notes.append("Takes a mask or region.")
    if not caps.deterministic:
        notes.append("Results vary with the seed.")
    if caps.needs_confirmation:
        notes.append("The user is asked to confirm before it runs.")
    if caps.max_side not in (ToolCapabilities.max_side, ANY_SIDE):
        notes.append(f"Accepts images up to {caps.max_side} px on the longest side.")
    return " ".join(notes)
