"""The `dialogpaint` command line: one module per command group, the shared options and errors in `common`.

Heavy libraries (torch, diffusers, FastAPI) are imported inside the commands that need them, so
`dialogpaint --help` stays fast.
"""

from agent.cli.app import app, main

__all__ = ["app", "main"]
