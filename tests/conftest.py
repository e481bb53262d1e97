from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.prompts import SYSTEM_PROMPT
from agent.session import Engine, Session
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, RecordingTool, ScriptedChatModel, gradient
from tools.base import EditTool


@pytest.fixture
def tool() -> RecordingTool:
    return RecordingTool()


@pytest.fixture
def make_session(tool: RecordingTool) -> Callable[..., Session]:
    """A session on an in-memory checkpointer and store, with a scripted model."""

    def make(
        script: list[Any], *, confirm: str = "never", tools: dict[str, EditTool] | None = None, **deps: Any
    ) -> Session:
        model = ScriptedChatModel(script=list(script))
        graph_deps = GraphDeps(
            model=model,
            tools=tools if tools is not None else {"mirror": tool},
            store=MemoryImageStore(),
            system_prompt=SYSTEM_PROMPT,
            confirm=confirm,  # type: ignore[arg-type]
            **deps,
        )
        engine = Engine(build_graph(InMemorySaver()), graph_deps)
        return engine.open(gradient())

    return make
