"""`dialogpaint mcp`: the MCP server over stdio (for a desktop chat client) or streamable HTTP."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from agent.session import Engine
    from agent.settings import Settings


def mcp(
    ctx: typer.Context,
    transport: Annotated[str, typer.Option(help="stdio (a client starts this command) or http.")] = "stdio",
    host: Annotated[str, typer.Option(help="http: address; without API keys only loopback is allowed.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="http: TCP port; the endpoint is /mcp.", min=0, max=65535)] = 8765,
) -> None:
    """Serve the editing session as MCP tools and resources (keys over http: DIALOGPAINT_API_KEYS)."""
    from agent.cli.common import engine_from, settings_from, user_errors
    from agent.cli.serve import is_loopback
    from tools.errors import DialogPaintError, MissingExtra

    with user_errors():
        if transport not in ("stdio", "http"):
            raise DialogPaintError(f"--transport must be stdio or http, got {transport!r}")
        settings = settings_from(ctx)
        if transport == "http" and not settings.api_keys and not is_loopback(host):
            raise DialogPaintError(
                f"no API keys are configured, so the MCP server only listens on loopback, not {host}; "
                "set DIALOGPAINT_API_KEYS to one or more comma-separated keys (16+ characters)"
            )
        missing = [m for m in ("mcp", "fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
        if missing:
            raise MissingExtra(f"mcp needs {', '.join(missing)}", "mcp")
        engine = engine_from(settings)
    try:
        run(settings, engine, transport, host, port)
    finally:
        engine.close()


def run(settings: Settings, engine: Engine, transport: str, host: str, port: int) -> None:
    """Build the server and run it on the transport until it is stopped."""
    import uvicorn

    from agent.mcp_server.http import http_app
    from agent.mcp_server.server import Access, build_server
    from agent.service.auth import KeyRing
    from agent.service.limits import RateLimiter

    keys = KeyRing([key.get_secret_value() for key in settings.api_keys])
    if transport == "stdio":
        build_server(engine, Access(keys)).run("stdio")
        return
    access = Access(keys, RateLimiter(settings.rate_per_minute, settings.rate_burst))
    typer.echo(f"dialogpaint MCP on http://{host}:{port}/mcp (data in {settings.data_dir})", err=True)
    uvicorn.run(http_app(build_server(engine, access), access, host), host=host, port=port, log_level="warning")
