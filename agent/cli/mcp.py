"""`dialogpaint mcp`: the MCP server over stdio (for a desktop chat client) or streamable HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from agent.session.engine import Engine
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
    from agent.cli.serve import refuse_open_without_keys, require_extra
    from tools.errors import DialogPaintError

    with user_errors():
        if transport not in ("stdio", "http"):
            raise DialogPaintError(f"--transport must be stdio or http, got {transport!r}")
        settings = settings_from(ctx)
        if transport == "http":
            refuse_open_without_keys(settings, host, "the MCP server")
        require_extra("mcp", ("mcp", "fastapi", "uvicorn"))
        engine = engine_from(settings)
    try:
        run(settings, engine, transport, host, port)
    finally:
        engine.close()


def run(settings: Settings, engine: Engine, transport: str, host: str, port: int) -> None:
    """Build the server and run it on the transport until it is stopped."""
    from agent.cli.http_server import serve
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
    app = http_app(build_server(engine, access), access, host)
    serve(app, host=host, port=port, header_timeout_s=settings.header_timeout_s, log_level="warning")
