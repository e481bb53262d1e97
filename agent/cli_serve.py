"""`dialogpaint serve-tool NAME`: expose one registered editing tool over HTTP (contract: tools.wire)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from agent.settings import Settings
    from tools.serving import ToolApp

logger = logging.getLogger(__name__)


def build_tool_app(name: str, settings: Settings, *, concurrency: int = 1) -> ToolApp:
    """The ASGI app serving the registered tool ``name``; also the builder a Ray Serve ingress calls.

    Raises:
        RegistryError: no tool of that name is registered (after plug-ins and filters).
        ToolUnavailable: the tool cannot run on this machine (no model, package or GPU).
    """
    from agent.wiring import build_tools
    from tools.base import make_ready
    from tools.errors import RegistryError
    from tools.serving import ToolApp

    tools = build_tools(settings)
    if name not in tools:
        raise RegistryError(f"no tool named {name!r} to serve; known: {', '.join(tools)}")
    tool = tools[name]
    # Refuse now rather than answer every edit with 503 behind a healthy /healthz; and load a model
    # before the first request, which would otherwise wait for it past the client's read timeout.
    make_ready(tool, f"cannot serve {name} here")
    return ToolApp(
        tool, max_body_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels, concurrency=concurrency
    )


def serve_tool(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The registered tool to serve (see `dialogpaint tools`).")],
    host: Annotated[str, typer.Option(help="Interface to listen on; 0.0.0.0 for other machines.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8700,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Edits run at once (1 for a GPU tool).")] = 1,
) -> None:
    """Serve one editing tool over HTTP so dialogpaint on other machines can use it as a remote tool."""
    from agent.cli import settings_from, user_errors

    with user_errors():
        app = build_tool_app(name, settings_from(ctx), concurrency=concurrency)
        try:
            import uvicorn
        except ImportError:
            raise RuntimeError("serve-tool needs uvicorn: pip install 'dialogpaint[remote]'") from None
        typer.echo(f"serving {name} on http://{host}:{port} (GET /v1/tool, POST /v1/edit, GET /healthz)", err=True)
        uvicorn.run(app, host=host, port=port, log_level="info" if logger.isEnabledFor(logging.INFO) else "warning")
