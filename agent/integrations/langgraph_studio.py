"""The graph for `langgraph dev` and LangGraph Studio (see langgraph.json), with the embedded default wired in.

The LangGraph server loads ``make_graph``, attaches its own checkpointer and runs the graph with the
run context its API request carries: JSON, so never a GraphDeps. ``StudioGraph`` turns that JSON
(a few settings, see ``StudioContext``) into the GraphDeps the nodes need: the model and tools the
settings name (the local policy and the tools that can run here by default) and the file image store
under the settings' data directory. A thread that starts without an image gets the sample landscape.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, ConfigDict, Field

from graphs.deps import GraphDeps
from graphs.graph import build_graph
from graphs.state import EditState


class StudioContext(BaseModel):
    """The run context a Studio run may send: settings of the embedded default (the rest from DIALOGPAINT_*).

    Other keys are ignored: the server may mirror its own configurable values into the context.
    """

    model_config = ConfigDict(extra="ignore")

    confirm: Literal["never", "always", "auto"] | None = None
    seed: int | None = Field(None, ge=0)
    edits_per_message: int | None = Field(None, ge=1, le=20)


class StudioGraph(CompiledStateGraph[EditState, GraphDeps, EditState, EditState]):
    """The editing graph, filling in its run context and a first image when a run brings neither."""

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        """Pregel.stream (invoke and the sync paths go through it) with the studio context."""
        deps = run_deps(kwargs.pop("context", None))
        saved = self.get_state(saving).values if (saving := _thread(self, config)) else {}
        yield from super().stream(with_image(input, saved, deps), config, context=deps, **kwargs)

    async def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        """Pregel.astream (ainvoke and astream_events go through it) with the studio context."""
        deps = run_deps(kwargs.pop("context", None))
        saved = (await self.aget_state(saving)).values if (saving := _thread(self, config)) else {}
        async for chunk in super().astream(with_image(input, saved, deps), config, context=deps, **kwargs):
            yield chunk

    def get_context_jsonschema(self) -> dict[str, Any] | None:
        """The JSON schema of the context a run may send (StudioContext), for Studio's form."""
        return StudioContext.model_json_schema()


def make_graph(config: RunnableConfig) -> StudioGraph:
    """The graph factory named in langgraph.json; compiled without a checkpointer (the server brings one)."""
    return _studio_graph()


@functools.cache
def _studio_graph() -> StudioGraph:
    compiled = build_graph()
    return StudioGraph(**{k: v for k, v in compiled.__dict__.items() if k != "__orig_class__"})  # as Pregel.copy


def run_deps(context: Any) -> GraphDeps:
    """The run context: a GraphDeps as given, or the embedded default with a StudioContext's settings."""
    if isinstance(context, GraphDeps):
        return context
    overrides = StudioContext.model_validate(context or {}).model_dump(exclude_none=True)
    return _default_deps(json.dumps(overrides, sort_keys=True))


@functools.cache
def _default_deps(overrides: str) -> GraphDeps:
    """Built once per process and set of overrides: the model and tools load once, as in an Engine."""
    from agent.models.factories import make_chat_model
    from agent.settings import Settings
    from agent.wiring import build_tools, graph_deps
    from graphs.storage.store import FileImageStore
    from tools.base import unavailable_reason

    settings = Settings(**json.loads(overrides))
    tools = {name: tool for name, tool in build_tools(settings).items() if unavailable_reason(tool) is None}
    return graph_deps(settings, make_chat_model(settings), tools, FileImageStore(settings.images_dir))


def with_image(input: Any, saved: Mapping[str, Any], deps: GraphDeps) -> Any:
    """``input`` with the sample landscape as the first revision when neither it nor the thread has an image."""
    if not isinstance(input, dict) or "revisions" in input or saved.get("revisions"):
        return input
    from agent.samples import landscape
    from graphs.revisions import new_revision
    from graphs.storage.store import put_image

    root = new_revision(put_image(deps.store, landscape()))
    return {**input, "revisions": [root], "head": root["id"], "redo_stack": [], "pending": None}


def _thread(graph: StudioGraph, config: RunnableConfig | None) -> RunnableConfig | None:
    """``config`` if it names a thread the graph saves (its state can be read), else None."""
    thread = (config or {}).get("configurable", {}).get("thread_id")
    return config if graph.checkpointer is not None and thread else None
