"""`dialogpaint tools`: the editing tools, their parameters and where they run."""

from __future__ import annotations

import typer

from agent.cli.common import settings_from, user_errors


def list_tools(ctx: typer.Context) -> None:
    """List the editing tools, their parameters and where they run."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from agent.wiring import build_tools
    from graphs.specs import clean_schema
    from tools.base import readiness

    with user_errors():
        tools = build_tools(settings_from(ctx), every_editor=True)
        table = Table("tool", "runs on", "parameters", "status")
        for name, tool in tools.items():
            params = []
            for field, spec in clean_schema(tool.Params).get("properties", {}).items():
                bounds = [
                    f"{k}={spec[k]}"
                    for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "default")
                    if k in spec
                ]
                if "enum" in spec:
                    bounds.append("|".join(map(str, spec["enum"])))
                params.append(f"{field} ({', '.join(bounds)})" if bounds else field)
            found = readiness(tool)  # a tool that is not ready is never offered to the dialogue model
            caps = tool.capabilities
            # Statuses carry install hints such as "pip install 'dialogpaint[gpu]'": rich markup would eat "[gpu]".
            table.add_row(
                name,
                f"{caps.device}, cost {caps.cost}",
                escape("\n".join(params) or "-"),
                escape(found.explain() if found.ready else f"not ready: {found.explain()}"),
            )
        Console().print(table)
