"""AG-UI (CopilotKit and other AG-UI clients) on the service, through ``ag_ui_langgraph``: ``POST /v1/ag-ui``.

An AG-UI thread is a session: its ``threadId`` is a session id the caller's key created (upload the
image with ``POST /v1/sessions``), so a thread is the same LangGraph thread the Session API and
``GET /v1/sessions/{id}`` read. A run streams AG-UI events (RUN_STARTED, STEP_*, TEXT_MESSAGE_*,
STATE_SNAPSHOT with the revisions and head, RUN_FINISHED); a confirmation ends the run with an
interrupt, whose value is the proposal with its ``action_requests`` / ``review_configs``, and the next
run answers it with ``resume`` (``[{"interruptId", "status": "resolved", "payload": {"decisions":
[{"type": "approve"}]}}]``; see graphs.review). The run goes through the service's key, rate limit,
work queue and one run per session like every turn: it runs in the ``Runner``'s worker thread, on an
event loop of its own, with the engine's checkpointer given async methods (``ThreadedSaver``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from agent.service.chat_routes import owned
from agent.service.deps import ServiceDep, Spender
from agent.service.errors import responses
from agent.service.runs import EventSink, reply_event
from agent.session.refusals import SessionBusy
from agent.session.session import Session
from graphs.deps import GraphDeps
from graphs.state import EditState
from graphs.storage.threaded import ThreadedSaver

router = APIRouter(tags=["ag-ui"])


class BoundGraph(CompiledStateGraph[EditState, GraphDeps, EditState, EditState]):
    """The engine's graph bound to one run context: AG-UI passes its configurable values as the context."""

    deps: GraphDeps

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        """Pregel.stream with the bound run context."""
        kwargs.pop("context", None)
        yield from super().stream(input, config, context=self.deps, **kwargs)

    async def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        """Pregel.astream (astream_events goes through it) with the bound run context."""
        kwargs.pop("context", None)
        async for chunk in super().astream(input, config, context=self.deps, **kwargs):
            yield chunk

    # ag_ui_langgraph reads the state's keys from these JSON schemas; pydantic cannot build the full
    # ones on Python 3.11 from the state's typing.TypedDicts, and the keys are all it needs.
    def get_input_jsonschema(self, config: RunnableConfig | None = None) -> dict[str, Any]:
        """The state's keys."""
        return {"type": "object", "properties": {key: {} for key in EditState.__annotations__}}

    def get_output_jsonschema(self, config: RunnableConfig | None = None) -> dict[str, Any]:
        """The state's keys."""
        return self.get_input_jsonschema(config)

    def get_config_jsonschema(self, *, include: Sequence[str] | None = None) -> dict[str, Any]:
        """No configurable fields (the default schema would describe GraphDeps, which pydantic cannot)."""
        return {"type": "object", "properties": {}}

    def get_context_jsonschema(self) -> dict[str, Any] | None:
        """None: the run context is bound, not sent."""
        return None


def bound_graph(session: Session) -> BoundGraph:
    """The engine's graph for one run of ``session``: its turn context, its checkpointer with async methods."""
    engine = session.engine
    fields = {k: v for k, v in engine.graph.__dict__.items() if k != "__orig_class__"}  # as Pregel.copy
    fields["checkpointer"] = ThreadedSaver(engine.graph.checkpointer)  # type: ignore[arg-type]
    graph = BoundGraph(**fields)
    graph.deps = replace(engine.turn_deps(), cancel=engine.slot(session.id).cancel)
    return graph


@router.post(
    "/v1/ag-ui",
    responses={
        200: {"description": "AG-UI events (text/event-stream)."},
        **responses("unauthorized", "session_not_found", "rate_limited", "too_many_runs", "session_busy", "overloaded"),
    },
)
async def agui_run(body: dict[str, Any], request: Request, principal: Spender, svc: ServiceDep) -> StreamingResponse:
    """Run the AG-UI ``RunAgentInput`` on the session its ``threadId`` names; the events stream back."""
    from ag_ui.core import RunAgentInput, RunErrorEvent
    from ag_ui.encoder import EventEncoder
    from ag_ui_langgraph import LangGraphAgent

    run = RunAgentInput.model_validate(body)
    session = await asyncio.to_thread(owned, svc, principal, run.thread_id)
    encoder = EventEncoder(accept=request.headers.get("accept", "text/event-stream"))

    def work(sink: EventSink) -> dict[str, Any]:
        async def drive() -> None:
            agent = LangGraphAgent(name="dialogpaint", graph=bound_graph(session), emit_raw_events=False)
            async for event in agent.run(run):
                sink({"kind": "agui", "data": encoder.encode(event)})

        slot = session.engine.slot(session.id)
        if not slot.lock.acquire(blocking=False):  # another in-process user (MCP) runs a turn on it
            raise SessionBusy(f"session {session.id} is still handling the previous request")
        try:
            asyncio.run(drive())
        finally:
            slot.pending_known = False  # AG-UI may have answered or made a proposal: read the checkpoint next
            slot.lock.release()
        return reply_event(session.last_reply())

    events = svc.runner.start(session.id, work, principal.name)

    async def stream() -> AsyncIterator[str]:
        while (event := await events.get()) is not None:
            if event["kind"] == "agui":
                yield event["data"]
            elif event["kind"] == "error":
                yield encoder.encode(RunErrorEvent(message=event["message"], code=event["code"]))

    return StreamingResponse(stream(), media_type=encoder.get_content_type())
