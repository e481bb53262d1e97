"""create_app(): the FastAPI application; the engine (models, pipelines, checkpointer) is built once in lifespan."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

from agent.service.auth import KeyRing
from agent.service.chat_routes import router as chat_router
from agent.service.deps import Service
from agent.service.errors import CODES, ErrorBody, ErrorDetail, install_handlers
from agent.service.errors import RETRY_AFTER as RETRY
from agent.service.headers import SecurityHeaders
from agent.service.health import health, tools_readiness
from agent.service.limits import BodyLimit, RateLimiter, StorageFaults, WorkQueue
from agent.service.metrics import ServiceMetrics
from agent.service.preview_routes import router as preview_router
from agent.service.recipe_routes import router as recipe_router
from agent.service.routes import router
from agent.service.runs import Runner
from agent.session.engine import Engine
from agent.settings import Settings
from tools.base import EditTool, load_now, unavailable_reason

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the uploaded file
DESCRIPTION = """Edit images through conversation. Create a session by uploading an image, then send
messages: each turn streams back as Server-Sent Events (graph steps, tool progress, reply tokens, new
revisions, and the final reply with its action). Authenticate with `Authorization: Bearer <key>`; a
session is visible only to the key that created it. Errors are `{"error": {"code", "message"}}`."""


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The service for ``settings``; pass ``engine`` to serve one you built (it stays yours to close).

    Without one, the lifespan builds the engine from the settings (chat model, tools and their
    pipelines, checkpointer) once at startup and closes it at shutdown, after running turns finish.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from agent.wiring import create_engine

        built = engine if engine is not None else await asyncio.to_thread(create_engine, settings)
        ready = await asyncio.to_thread(warm_up, built)
        queue = WorkQueue(settings.work_slots, settings.work_queue, settings.retry_after_s, settings.work_per_key)
        metrics = ServiceMetrics(queue_depth=lambda: queue.admitted)
        built.deps = replace(built.deps, observer=metrics)  # the graph reports tool runs and model faults
        app.state.service = Service(
            engine=built,
            keys=KeyRing([key.get_secret_value() for key in settings.api_keys]),
            limiter=RateLimiter(settings.rate_per_minute, settings.rate_burst),
            runner=Runner(queue, built.shared_lock, metrics),
            metrics=metrics,
            ready_tools=ready,
            public_url=settings.public_url,
        )
        try:
            yield
        finally:
            await app.state.service.runner.drain()
            if engine is None:
                built.close()

    docs = settings.api_docs if settings.api_docs is not None else not settings.api_keys
    app = ServiceApp(
        title="dialogpaint",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json" if docs else None,  # None also removes /docs and /redoc
    )
    install_handlers(app, settings.retry_after_s)
    app.add_middleware(
        BodyLimit, limit_for=lambda scope: body_limit(scope, settings), timeout_s=settings.body_timeout_s
    )
    app.add_middleware(StorageFaults, retry_after_s=settings.retry_after_s)  # outermost: keeps the connection
    app.include_router(router)
    app.include_router(recipe_router)
    app.include_router(preview_router)
    app.include_router(chat_router)
    if importlib.util.find_spec("ag_ui_langgraph") is not None:  # the agui extra
        from agent.service.agui_routes import router as agui_router

        app.include_router(agui_router)

    unhealthy = {
        "model": ErrorBody,
        "description": f"`unhealthy`: {CODES['unhealthy'][1]}",
        "headers": {"Retry-After": RETRY},
    }

    @app.get("/healthz", tags=["service"], responses={503: unhealthy})
    async def healthz(request: Request) -> JSONResponse:
        """Whether a turn can run now (checkpointer, image store, each ready tool), whether keys are needed,
        and every tool's readiness (one that cannot run here is listed with why and how to enable it).
        """
        svc: Service = request.app.state.service
        found = await health(svc.engine, svc.ready_tools, settings.state_store_timeout_s)
        body = {
            "status": "ok" if found["healthy"] else "unavailable",
            "auth": "none" if svc.keys.dev_mode else "bearer",
            "tools": await asyncio.to_thread(tools_readiness, svc.engine.deps.tools, detail=svc.keys.dev_mode),
        }
        if found["healthy"]:
            return JSONResponse({**body, "checks": found["checks"]})
        failed = "; ".join(f"{name}: {result}" for name, result in found["checks"].items() if result != "ok")
        error = ErrorDetail(code="unhealthy", message=failed).model_dump()
        retry = {"Retry-After": str(settings.retry_after_s)}
        return JSONResponse({"error": error, **body, "checks": found["checks"]}, status_code=503, headers=retry)

    @app.get("/metrics", tags=["service"], response_class=Response)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics: turns by action and outcome, model-call faults and retries, tool time and
        failures by tool, the work queue, and 429/503 answers by cause. Counts only: no ids or text.
        """
        svc: Service = request.app.state.service
        return Response(svc.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


class ServiceApp(FastAPI):
    """FastAPI with the security headers outside every layer, the server-error handler included."""

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack wrapped in SecurityHeaders (user middleware sits inside the 500 handler)."""
        return SecurityHeaders(super().build_middleware_stack())


def body_limit(scope: Scope, settings: Settings) -> int:
    """The largest body a request may send: an upload's size limit, or room for one message."""
    if scope["method"] == "POST" and scope["path"] == "/v1/sessions":
        return settings.max_upload_bytes + MULTIPART_OVERHEAD
    if scope["method"] == "POST" and scope["path"] == "/v1/chat/completions":  # base64 images, the history resent
        return 3 * settings.max_upload_bytes + MULTIPART_OVERHEAD
    return 16 * 1024 + 4 * settings.max_message_chars  # JSON escapes; UTF-8 takes up to 4 bytes a char


def warm_up(engine: Engine) -> dict[str, EditTool]:
    """Load every available tool pipeline now, so the first request does not pay for it; the ready tools."""
    ready: dict[str, EditTool] = {}
    for name, tool in engine.deps.tools.items():
        if unavailable_reason(tool) is None:
            start = time.perf_counter()
            if load_now(tool):
                logger.info("loaded %s in %.1fs", name, time.perf_counter() - start)
            ready[name] = tool
    return ready
