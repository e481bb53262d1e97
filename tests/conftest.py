from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.models.prompts import SYSTEM_PROMPT
from agent.session.engine import Engine
from agent.session.session import Session
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, RecordingTool, ScriptedChatModel, gradient
from tests.tiny_fixtures import editor_dirs, model_dir, models, one_torch_thread  # noqa: F401  (fixtures for the tiny-model tests)
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


def require_system(what: str, available: bool, reason: str) -> None:
    """Skip when a system dependency is missing, or fail when DIALOGPAINT_REQUIRE_SYSTEM_TESTS=1 (CI)."""
    if available:
        return
    message = f"{what} is not available: {reason}"
    if os.environ.get("DIALOGPAINT_REQUIRE_SYSTEM_TESTS") == "1":
        pytest.fail(f"{message} (required because DIALOGPAINT_REQUIRE_SYSTEM_TESTS=1)")
    pytest.skip(message)


@pytest.fixture
def llm_session(tmp_path, tool: RecordingTool) -> Iterator[Callable[..., Session]]:
    """Open sessions whose dialogue model is ChatOpenAI at a URL, wired as the CLI wires it."""
    from agent.settings import Settings
    from agent.wiring import create_engine

    engines: list[Engine] = []

    def open_(url: str, **settings: Any) -> Session:
        config = Settings(data_dir=tmp_path / f"data{len(engines)}", llm=url, llm_model="test-model", **settings)
        engine = create_engine(config, tools={"mirror": tool}, store=MemoryImageStore())
        engines.append(engine)
        return engine.open(gradient())

    yield open_
    for engine in engines:
        engine.close()
