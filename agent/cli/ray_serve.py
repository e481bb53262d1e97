"""`dialogpaint serve-tools --ray CONFIG`: deploy editing tools on Ray Serve (agent.integrations.ray_serve)."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.common import user_errors
from tools.errors import MissingExtra


def serve_tools(
    ctx: typer.Context,
    ray_config: Annotated[
        Path, typer.Option("--ray", help="YAML: Ray address, Serve host/port, tools with their resources.")
    ],
) -> None:
    """Deploy the configured editing tools as Ray Serve applications at http://HOST:PORT/<tool> (until Ctrl-C).

    Point dialogpaint at them with DIALOGPAINT_REMOTE_TOOLS='{"<tool>": "http://HOST:PORT/<tool>"}'.
    """
    with user_errors():
        from agent.integrations.ray_serve import load_config
        from agent.integrations.ray_serve import serve_tools as deploy

        config = load_config(ray_config)
        if importlib.util.find_spec("ray") is None:
            raise MissingExtra("serve-tools --ray needs ray[serve]", "ray")
        for url in deploy(config, dict(ctx.obj or {})):
            typer.echo(f"serving {url} (GET /v1/tool, POST /v1/edit, GET /healthz)", err=True)
    try:
        while True:
            time.sleep(3600)  # the deployments live in Ray; this process keeps the local cluster it started
    except KeyboardInterrupt:
        from ray import serve

        serve.shutdown()  # type: ignore[no-untyped-call]
