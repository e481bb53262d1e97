"""The EditTool protocol every editing tool implements, and the record of what a tool can do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Generic, Literal, Protocol, TypeVar, cast, runtime_checkable

from PIL import Image
from pydantic import BaseModel

from tools.errors import InvalidEditRequest

P = TypeVar("P", bound=BaseModel)

Device = Literal["cpu", "gpu", "remote"]
Cost = Literal["low", "medium", "high"]

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(step, total)``; raising EditCancelled from it stops the tool."""


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


@runtime_checkable
class EditTool(Protocol):
    """An image editor the dialogue model can call: typed, bounded params in, a new RGB image out."""

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
        limit = self.capabilities.max_side
        if max(image.size) > limit:
            raise InvalidEditRequest(
                f"{self.name} accepts images up to {limit} px on the longest side; "
                f"this one is {image.width}x{image.height}"
            )


def tool_description(tool: type[EditTool] | EditTool) -> str:
    """The description the model sees: the Params docstring, one paragraph."""
    doc = tool.Params.__doc__ or ""
    return " ".join(doc.split())
