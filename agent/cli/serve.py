"""`dialogpaint serve`: the HTTP service and chat page under uvicorn. FastAPI is imported only here, when run."""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from agent.settings import Settings

LOOPBACK_NAMES = ("localhost",)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on; without API keys only loopback is allowed.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = 8000,
) -> None:
    """Serve the HTTP API and the chat page at http://HOST:PORT/ (keys: DIALOGPAINT_API_KEYS)."""
    from agent.cli.common import engine_from, settings_from, user_errors

    with user_errors():
        settings = settings_from(ctx)
        refuse_open_without_keys(settings, host, "the service")
        require_extra("serve", ("fastapi", "uvicorn", "multipart"))
        from agent.cli.http_server import serve as serve_http
        from agent.service.app import create_app

        # Built here, not in the lifespan, so a bad setting (an unreachable Postgres) is one line on
        # stderr: uvicorn prints a failed lifespan as a traceback. The lifespan still loads pipelines.
        engine = engine_from(settings)
    try:
        if not settings.api_keys:
            logging.getLogger(__name__).warning("no API keys configured: dev mode, anyone on this machine is served")
        typer.echo(f"dialogpaint serving on http://{host}:{port}/ (data in {settings.data_dir})", err=True)
        app = create_app(settings, engine)
        serve_http(app, host=host, port=port, header_timeout_s=settings.header_timeout_s, log_level="info",
                   timeout_graceful_shutdown=30)  # fmt: skip
    finally:
        engine.close()


def refuse_open_without_keys(settings: Settings, host: str, server: str) -> None:
    """Raise DialogPaintError when no API keys are set and ``host`` is not loopback (``server`` would serve
    anyone who can reach it).
    """
    from tools.errors import DialogPaintError

    if not settings.api_keys and not is_loopback(host):
        raise DialogPaintError(
            f"no API keys are configured, so {server} only listens on loopback, not {host}; "
            "set DIALOGPAINT_API_KEYS to one or more comma-separated keys (16+ characters)"
        )


def require_extra(extra: str, modules: tuple[str, ...]) -> None:
    """Raise MissingExtra naming ``extra`` when any of ``modules`` is not installed."""
    from tools.errors import MissingExtra

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtra(f"{extra} needs {', '.join(missing)}", extra)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or name."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
