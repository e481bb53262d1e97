"""The graph for `langgraph dev`, LangGraph Studio and Agent Chat UI (see langgraph.json), with the embedded default.

The LangGraph server loads ``make_graph``, attaches its own checkpointer and runs the graph with the
run context its API request carries: JSON, so never a GraphDeps. ``StudioGraph`` turns that JSON
(a few settings, see ``StudioContext``) into the GraphDeps the nodes need: the model and tools the
settings name and the settings' image store. Around the editing graph (a subgraph, unchanged) it
does what a chat UI needs: an image the user's message carries (a content block, see
``agent.session.chat_content``) becomes the thread's new upload revision, a thread that starts without one gets the
sample landscape, and ``show`` puts the head image into the conversation as a markdown image served
by the image route of ``studio_app`` whenever the head moved. The state keeps a window of the
conversation (``graphs.window``): the messages it lets go are kept, put once each, in the server's
store (``graphs.storage.store_transcript``), which ``studio_app``'s transcript route reads. The
server runs everything on one event loop and refuses blocking calls there (blockbuster): building
the run context and storing an upload run in a worker thread, and the nodes are sync, so LangGraph
runs them in its executor.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage, convert_to_messages
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from agent.session.chat_content import image_link, revision_markdown, split_content
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from graphs.state import EditState, Revision, head_revision
from graphs.storage.store_transcript import StoreTranscript

if TYPE_CHECKING:
    from agent.settings import Settings

IMAGE_ONLY = "(sent an image)"  # the words of a message that carries only an image


class StudioContext(BaseModel):
    """The run context a Studio run may send: settings of the embedded default (the rest from DIALOGPAINT_*).

    Other keys are ignored: the server may mirror its own configurable values into the context.
    """

    model_config = ConfigDict(extra="ignore")

    confirm: Literal["never", "always", "auto"] | None = None
    seed: int | None = Field(None, ge=0)
    edits_per_message: int | None = Field(None, ge=1, le=20)


def append_new(existing: list[Revision], new: list[Revision]) -> list[Revision]:
    """Reducer for revisions around the subgraph, which hands back the whole list: append those not yet known."""
    known = {r["id"] for r in existing}
    return existing + [r for r in new if r["id"] not in known]


class StudioState(EditState):
    """The editing state plus the head whose image the conversation last showed."""

    revisions: Annotated[list[Revision], append_new]  # the subgraph hands back the whole list
    shown: str | None
    # The messages this state let go (the subgraph's ``archived`` after its last turn): ``messages`` holds
    # the conversation from this position on, the store's transcript the ones before (``trimmed``).
    trimmed: int


class StudioGraph(CompiledStateGraph[StudioState, GraphDeps, StudioState, StudioState]):
    """The chat graph, filling in its run context, the user's image or a first image."""

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        """Pregel.stream (invoke and the sync paths go through it) with the studio context."""
        deps = with_transcript(run_deps(kwargs.pop("context", None)), self.store, config)
        saved = self.get_state(saving).values if (saving := _thread(self, config)) else {}
        yield from super().stream(with_image(input, saved, deps), config, context=deps, **kwargs)

    async def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        """Pregel.astream (ainvoke, astream_events and the server go through it) with the studio context."""
        deps = await asyncio.to_thread(run_deps, kwargs.pop("context", None))  # settings, model, store: file I/O
        deps = with_transcript(deps, self.store, config)
        saved = (await self.aget_state(saving)).values if (saving := _thread(self, config)) else {}
        prepared = await asyncio.to_thread(with_image, input, saved, deps)  # decodes and stores an upload
        async for chunk in super().astream(prepared, config, context=deps, **kwargs):
            yield chunk

    def get_context_jsonschema(self) -> dict[str, Any] | None:
        """The JSON schema of the context a run may send (StudioContext), for Studio's form."""
        return StudioContext.model_json_schema()


def make_graph(config: RunnableConfig) -> StudioGraph:
    """The graph factory named in langgraph.json; compiled without a checkpointer (the server brings one)."""
    return _studio_graph()


@functools.cache
def _studio_graph() -> StudioGraph:
    builder = StateGraph(StudioState, context_schema=GraphDeps)
    builder.add_node("dialogpaint", build_graph())
    builder.add_node(show)
    builder.add_edge(START, "dialogpaint")
    builder.add_edge("dialogpaint", "show")
    builder.add_edge("show", END)
    compiled = builder.compile(name="dialogpaint")
    return StudioGraph(**{k: v for k, v in compiled.__dict__.items() if k != "__orig_class__"})  # as Pregel.copy


def with_transcript(deps: GraphDeps, store: BaseStore | None, config: RunnableConfig | None) -> GraphDeps:
    """``deps`` keeping the transcript in the server's store, under the caller's identity (what the store
    API shows that caller, ``studio_auth.own_store``); as they are when the graph runs without a store.
    """
    if store is None:
        return deps
    owner = (config or {}).get("configurable", {}).get("langgraph_auth_user_id")
    return replace(deps, transcript=StoreTranscript(store, (str(owner),) if owner else ()))


def show(state: StudioState, config: RunnableConfig) -> dict[str, Any]:
    """Let go of the messages the subgraph moved to the transcript, and append the head image as a markdown
    image to the turn's last reply when the head moved since last shown.
    """
    trim = trimmed(state)
    head = state.get("head")
    if head is None or head == state.get("shown"):
        return trim
    settings = studio_settings()
    revision = head_revision(state["revisions"], head)
    secret = settings.api_keys[0].get_secret_value().encode() if settings.api_keys else None
    url = image_link(base_url(settings, config), secret, revision["image"])
    picture = revision_markdown(revision, url)
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and not last.tool_calls and isinstance(last.content, str):
        shown = last.model_copy(update={"content": f"{last.content}\n\n{picture}"})  # same id: replaces it
    else:
        shown = AIMessage(picture)
    return {**trim, "messages": [*trim.get("messages", []), shown], "shown": head}


def trimmed(state: StudioState) -> dict[str, Any]:
    """The update removing the messages before the subgraph's window ({} when there are none).

    The subgraph's ``RemoveMessage`` only changes its own ``messages``; this state merges the window it
    hands back into its own list (``add_messages``), which would keep every message, so the messages the
    subgraph archived are let go here too: ``messages[i]`` is the conversation's ``trimmed + i``.
    """
    start, archived = state.get("trimmed", 0), state.get("archived", 0)
    if archived <= start:
        return {}
    old = state["messages"][: archived - start]
    return {"messages": [RemoveMessage(id=str(m.id)) for m in old], "trimmed": archived}


def base_url(settings: Settings, config: RunnableConfig) -> str:
    """Where clients reach this server: DIALOGPAINT_PUBLIC_URL, else the request's (forwarded) host, else relative."""
    if settings.public_url:
        return settings.public_url
    headers = config.get("configurable", {})  # the server copies the request's headers here
    host = headers.get("x-forwarded-host") or headers.get("host")
    return f"{headers.get('x-forwarded-proto', 'http')}://{host}" if host else ""


@functools.cache
def studio_settings() -> Settings:
    """The settings from the environment (DIALOGPAINT_*), read once per process."""
    from agent.settings import Settings

    return Settings()


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
    from agent.wiring import build_tools, graph_deps, image_store
    from tools.base import unavailable_reason

    settings = Settings(**json.loads(overrides))
    tools = {name: tool for name, tool in build_tools(settings).items() if unavailable_reason(tool) is None}
    return graph_deps(settings, make_chat_model(settings), tools, image_store(settings))


def with_image(input: Any, saved: Mapping[str, Any], deps: GraphDeps) -> Any:
    """``input`` with its last message checked (the service's message and upload limits) and reduced to
    its words, and the image it carries as the new head; or with the sample landscape when neither it
    nor the thread has an image.
    """
    if not isinstance(input, dict) or "revisions" in input:
        return input
    from agent.samples import landscape
    from graphs.revisions import new_revision
    from graphs.storage.store import put_image

    messages = convert_to_messages(input.get("messages") or [])
    image = None
    if messages and isinstance(messages[-1], HumanMessage):
        words, image = checked(messages[-1])
        input = {**input, "messages": [*messages[:-1], messages[-1].model_copy(update={"content": words})]}
    if image is None and saved.get("revisions"):
        return input
    root = new_revision(put_image(deps.store, image if image is not None else landscape()))
    return {**input, "revisions": [root], "head": root["id"], "redo_stack": [], "pending": None}


def checked(message: HumanMessage) -> tuple[str, Image.Image | None]:
    """The words of a user message and the image it carries, checked against the settings' limits
    (MessageRejected, ImageRejected naming the one broken).
    """
    from agent.session.refusals import check_message
    from agent.wiring import input_limits

    limits = input_limits(studio_settings())
    words, images = split_content(message.content)
    image = limits.image(images[0]) if images else None
    said = words or (IMAGE_ONLY if image is not None else "")  # no words and no image: "the message is empty"
    return check_message(said, limits.max_message_chars), image


def _thread(graph: StudioGraph, config: RunnableConfig | None) -> RunnableConfig | None:
    """``config`` if it names a thread the graph saves (its state can be read), else None."""
    thread = (config or {}).get("configurable", {}).get("thread_id")
    return config if graph.checkpointer is not None and thread else None
