"""`dialogpaint serve-tool NAME`: expose one registered editing tool over HTTP (contract: tools.wire)."""

from __future__ import annotations

import importlib.util
import logging
from typing import Annotated

import typer

from agent.cli.common import settings_from, user_errors
from tools.errors import MissingExtra

logger = logging.getLogger(__name__)


def serve_tool(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The registered tool to serve (see `dialogpaint tools`).")],
    host: Annotated[str, typer.Option(help="Interface to listen on; 0.0.0.0 for other machines.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8700,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Edits run at once (1 for a GPU tool).")] = 1,
) -> None:
    """Serve one editing tool over HTTP so dialogpaint on other machines can use it as a remote tool."""
    from agent.cli.http_server import serve
    from agent.wiring import build_tool_app

    with user_errors():
        settings = settings_from(ctx)
        app = build_tool_app(name, settings, concurrency=concurrency)
        if importlib.util.find_spec("uvicorn") is None:
            raise MissingExtra("serve-tool needs uvicorn", "remote")
        typer.echo(f"serving {name} on http://{host}:{port} (GET /v1/tool, POST /v1/edit, GET /healthz)", err=True)
        level = "info" if logger.isEnabledFor(logging.INFO) else "warning"
        serve(app, host=host, port=port, header_timeout_s=settings.header_timeout_s, log_level=level)
