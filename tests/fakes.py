"""Test doubles: a scripted tool-calling chat model, a recording edit tool, an in-memory store."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field

from graphs.storage.store import check_key, image_key
from tools.base import ProgressCallback, ToolCapabilities
from tools.errors import EditFailed, ImageNotFound

_ids = itertools.count()


def call(name: str, **args: Any) -> dict[str, Any]:
    """A tool call as a chat model returns it."""
    return {"name": name, "args": args, "id": f"call_{next(_ids)}", "type": "tool_call"}


def ai(*calls: dict[str, Any], text: str = "") -> AIMessage:
    """A model answer with the given tool calls."""
    return AIMessage(content=text, tool_calls=list(calls))


Step = AIMessage | Callable[[list[BaseMessage]], AIMessage] | Exception


class ScriptedChatModel(BaseChatModel):
    """Answers each call with the next scripted message (or raises a scripted exception)."""

    script: list[Any]  # AIMessage, callable(messages) -> AIMessage, or an exception to raise
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound: list[list[dict[str, Any]]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, BaseMessage]:
        self.bound.append(list(tools))
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append(list(messages))
        if not self.script:
            raise AssertionError("the scripted model was called more often than scripted")
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        message = step(messages) if callable(step) else step
        return ChatResult(generations=[ChatGeneration(message=message)])


class MirrorParams(BaseModel):
    """Mirror the image left to right (fake tool for tests)."""

    model_config = ConfigDict(extra="forbid")

    strength: int = Field(1, ge=1, le=3)


class RecordingTool:
    """A deterministic fake edit tool (a mirror) that records each call; can be told to fail."""

    name: ClassVar[str] = "mirror"
    Params: ClassVar[type[BaseModel]] = MirrorParams
    capabilities: ClassVar[ToolCapabilities] = ToolCapabilities()

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.calls: list[tuple[tuple[int, int], dict[str, Any], int]] = []
        self.fail_with = fail_with

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """Accept everything."""

    def __call__(
        self,
        image: Image.Image,
        params: BaseModel,
        *,
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> Image.Image:
        self.calls.append((image.size, params.model_dump(), seed))
        if self.fail_with is not None:
            raise self.fail_with
        if progress:
            progress(1, 1)
        return ImageOps.mirror(image)


class CostlyTool(RecordingTool):
    """Like RecordingTool, but declared costly so the auto policy confirms it."""

    name: ClassVar[str] = "costly_mirror"
    capabilities: ClassVar[ToolCapabilities] = ToolCapabilities(device="gpu", cost="high")


class MemoryImageStore:
    """An in-memory ImageStore."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, png: bytes) -> str:
        key = image_key(png)
        self.blobs[key] = png
        return key

    def get(self, key: str) -> bytes:
        try:
            return self.blobs[check_key(key)]
        except KeyError:
            raise ImageNotFound(f"no image {key}") from None

    def __contains__(self, key: object) -> bool:
        return key in self.blobs


def failing_tool() -> RecordingTool:
    """A tool that fails the way a broken editor does."""
    return RecordingTool(fail_with=EditFailed("the editor ran out of paint"))


def gradient(size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A small image whose left and right halves differ, so a mirror is visible."""
    image = Image.new("RGB", size)
    image.putdata([(x * 4 % 256, y * 5 % 256, 128) for y in range(size[1]) for x in range(size[0])])
    return image
