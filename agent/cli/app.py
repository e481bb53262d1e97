"""The Typer app: the global options and every command, registered in one place."""

from __future__ import annotations

import typer

from agent.cli.common import with_global_options
from agent.cli.conversation import chat, demo, run
from agent.cli.doctor import doctor
from agent.cli.eval import evaluate
from agent.cli.finetune_dialogue import finetune_dialogue
from agent.cli.finetune_editor import finetune_editor_command
from agent.cli.mcp import mcp
from agent.cli.pairs import make_pairs_command
from agent.cli.ray_serve import serve_tools
from agent.cli.recipes import inspect_file, replay
from agent.cli.serve import serve
from agent.cli.serve_tool import serve_tool
from agent.cli.simulate import simulate
from agent.cli.synth import synth
from agent.cli.tools import list_tools
from agent.cli.train_policy import train_policy

app = typer.Typer(help="Edit images through conversation.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
@with_global_options
def options(ctx: typer.Context) -> None:
    """Global options; each can also be set by its DIALOGPAINT_* environment variable, and given after the command."""


app.command("demo")(with_global_options(demo))
app.command("chat")(with_global_options(chat))
app.command("run")(with_global_options(run))
app.command("tools")(with_global_options(list_tools))
app.command("eval")(with_global_options(evaluate))
app.command("simulate")(with_global_options(simulate))
app.command("doctor")(with_global_options(doctor))
app.command("serve")(with_global_options(serve))
app.command("serve-tool")(with_global_options(serve_tool))
app.command("replay")(with_global_options(replay))
app.command("inspect")(with_global_options(inspect_file))
app.command("mcp")(with_global_options(mcp))
app.command("serve-tools")(with_global_options(serve_tools))
app.command("finetune-dialogue")(with_global_options(finetune_dialogue))
app.command("synth")(with_global_options(synth))
app.command("make-pairs")(with_global_options(make_pairs_command))
app.command("finetune-editor")(with_global_options(finetune_editor_command))
app.command("train-policy")(train_policy)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="dialogpaint")
