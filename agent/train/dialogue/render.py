"""Dialogues in the eval format -> the OpenAI tool-calling requests the graph sends, with the answer to learn.

Each dialogue is played through the real graph (create_engine: the same system prompt, tool schemas,
tool results and history trimming as production) with the embedded policy as the teacher. Every
call the graph makes to the model becomes one prompt-completion sample: the prompt is exactly the
request's messages and tools in OpenAI format, the completion the teacher's answer. The labels of
the dialogue decide which answers are kept: a dialogue is kept up to its first turn whose decision,
instruction keywords or undo count the teacher got wrong (the later context would be off). Replies
the graph writes itself ("Done: ...") stay in later prompts but are never completions, so the loss
falls only on what the model really says. Edits run on stand-ins of the tools (same names,
parameters and capabilities, the image returned unchanged), so no weights are needed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypedDict

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.outputs import ChatResult
from PIL import Image
from pydantic import BaseModel, Field

from agent.eval.dataset import EvalDialogue, TurnResult, run_dialogue
from agent.policy.local import LocalPolicy
from agent.samples import landscape
from agent.settings import Settings
from agent.wiring import build_tools, create_engine
from tools.base import EditTool, ProgressCallback, ToolCapabilities
from tools.errors import DialogPaintError
from tools.images import read_image_file


class Sample(TypedDict):
    """One training sample in TRL's conversational prompt-completion format, with the tools offered."""

    id: str  # dialogue id, turn number and call number: "cheetah/2.1"
    prompt: list[dict[str, Any]]  # the request's messages, OpenAI format
    completion: list[dict[str, Any]]  # the one assistant message the model should answer
    tools: list[dict[str, Any]]  # the request's tools, OpenAI format


class Teacher(LocalPolicy):
    """The embedded policy, recording each call's messages, tools and answer."""

    recorded: list[tuple[list[BaseMessage], list[dict[str, Any]], AIMessage]] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = super()._generate(messages, stop, run_manager, **kwargs)
        answer = result.generations[0].message
        assert isinstance(answer, AIMessage)
        self.recorded.append((list(messages), list(kwargs.get("tools") or []), answer))
        return result


class StandIn:
    """A tool as the model sees it (name, parameters, capabilities) that returns the image unchanged."""

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    capabilities: ClassVar[ToolCapabilities]

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """Accept what the real tool's parameters accept."""

    def __call__(
        self, image: Image.Image, params: BaseModel, *, seed: int, progress: ProgressCallback | None = None
    ) -> Image.Image:
        """The image, unchanged: the dialogue model never sees pixels."""
        return image.copy()


def stand_in(tool: EditTool) -> EditTool:
    """A StandIn with ``tool``'s name, parameters and capabilities."""
    attributes = {"name": tool.name, "Params": tool.Params, "capabilities": tool.capabilities}
    made: EditTool = type(f"StandIn_{tool.name}", (StandIn,), attributes)()
    return made


def openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Messages as ChatOpenAI sends them: an assistant message with tool calls and no text has content null."""
    converted = convert_to_openai_messages(list(messages))
    for message in converted:
        if message.get("tool_calls") and not message.get("content"):
            message["content"] = None
    return converted


@dataclass(frozen=True)
class Rendered:
    """The samples of one dialogue and how many of its turns they cover."""

    samples: list[Sample]
    kept_turns: int
    turns: int


def render_dialogue(dialogue: EvalDialogue, settings: Settings, tools: dict[str, EditTool]) -> Rendered:
    """Play one dialogue through the graph with the teacher; its samples up to the first wrong turn."""
    if settings.llm_tool_mode != "auto":
        raise DialogPaintError(f"finetune-dialogue renders the 'auto' tool mode only, not {settings.llm_tool_mode!r}")
    teacher = Teacher()
    ends: list[int] = []
    with tempfile.TemporaryDirectory(prefix="dialogpaint-sft-") as data_dir:
        engine = create_engine(settings.model_copy(update={"data_dir": Path(data_dir)}), model=teacher, tools=tools)
        try:
            session = engine.open(read_image_file(dialogue.image) if dialogue.image else landscape(160, 108))
            results = run_dialogue(session, dialogue, on_turn=lambda _: ends.append(len(teacher.recorded)))
        finally:
            engine.close()
    kept = next((i for i, r in enumerate(results) if not right(r)), len(results))
    samples: list[Sample] = []
    for turn in range(kept):
        first = ends[turn - 1] if turn else 0
        for number, (messages, offered, answer) in enumerate(teacher.recorded[first : ends[turn]], start=1):
            samples.append(
                Sample(
                    id=f"{dialogue.id}/{turn + 1}.{number}",
                    prompt=openai_messages(messages),
                    completion=openai_messages([answer]),
                    tools=offered,
                )
            )
    return Rendered(samples, kept, len(results))


def right(result: TurnResult) -> bool:
    """Whether the teacher's decision matches every label of the turn."""
    return result.correct and result.keywords_hit is not False and result.steps_exact is not False


def render_all(dialogues: Iterable[EvalDialogue], settings: Settings) -> Iterator[Rendered]:
    """Render dialogues against stand-ins of the tools the settings configure."""
    tools = {name: stand_in(tool) for name, tool in build_tools(settings).items()}
    for dialogue in dialogues:
        yield render_dialogue(dialogue, settings, tools)
