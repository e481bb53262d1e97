"""The dialogpaint command line: demo, chat, run, tools. Heavy imports happen inside commands."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli_eval import evaluate
from agent.cli_serve import serve_tool
from agent.cli_service import serve
from agent.doctor import doctor

if TYPE_CHECKING:
    from agent.reply import Reply
    from agent.session import Engine, Session
    from agent.settings import Settings

app = typer.Typer(help="Edit images through conversation.", no_args_is_help=True, pretty_exceptions_enable=False)

app.command()(doctor)

DEMO_SCRIPT = (
    "Hi! What can you do?",
    "make it look better",
    "brighter and more vivid colours",
    "yes",
    "now give it a vintage look",
    "undo",
    "redo",
    "go back two steps",
    "add a vignette",
)
# Accepted both as global options and after `chat` / `run`, so `chat IMAGE --editor ...` works too.
ModelPathOption = Annotated[
    str | None, typer.Option(help="InstructPix2Pix weights (local dir). Env: DIALOGPAINT_MODEL_PATH.")
]
EditorOption = Annotated[
    str | None, typer.Option(help="Send every edit to this tool, e.g. instruct_pix2pix. Env: DIALOGPAINT_EDITOR.")
]


@app.callback()
def options(  # noqa: PLR0917 - typer maps each parameter to an option
    ctx: typer.Context,
    llm: Annotated[
        str | None,
        typer.Option(help="'local' (default) or an OpenAI-compatible base URL. Env: DIALOGPAINT_LLM."),
    ] = None,
    llm_model: Annotated[str | None, typer.Option(help="Model name at that URL. Env: DIALOGPAINT_LLM_MODEL.")] = None,
    model_path: ModelPathOption = None,
    allow_cpu: Annotated[
        bool | None,
        typer.Option("--allow-cpu", help="Run the diffusion editor on the CPU. Env: DIALOGPAINT_ALLOW_CPU."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where sessions and images live. Env: DIALOGPAINT_DATA_DIR.")
    ] = None,
    confirm: Annotated[
        str | None, typer.Option(help="never | always | auto (default). Env: DIALOGPAINT_CONFIRM.")
    ] = None,
    editor: EditorOption = None,
    disable_tool: Annotated[
        list[str] | None, typer.Option("--disable-tool", help="Hide a tool from the model (repeatable).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log to stderr.")] = False,
) -> None:
    """Global options; each can also be set by its DIALOGPAINT_* environment variable."""
    given = {
        "llm": llm, "llm_model": llm_model, "model_path": model_path, "allow_cpu": allow_cpu,
        "data_dir": data_dir, "confirm": confirm, "tools_disabled": disable_tool or None, "editor": editor,
    }  # fmt: skip
    ctx.obj = {k: v for k, v in given.items() if v is not None}
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures into one line on stderr and exit code 2; never a traceback."""
    from pydantic import ValidationError

    from tools.errors import DialogPaintError

    try:
        yield
    except (DialogPaintError, ValidationError, OSError, RuntimeError) as exc:
        message = str(exc).splitlines()[0] if not isinstance(exc, ValidationError) else _brief(exc)
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2) from None


def _brief(exc: Any) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"invalid setting {where}: {first['msg']}"


def settings_from(ctx: typer.Context, **overrides: Any) -> Settings:
    """Settings from explicit options, then the environment, then defaults."""
    from agent.settings import Settings

    return Settings(**{**(ctx.obj or {}), **overrides})


def chosen(**options: Any) -> dict[str, Any]:
    """The options actually given on the command line."""
    return {k: v for k, v in options.items() if v is not None}


def engine_from(settings: Settings) -> Engine:
    """An engine for the settings."""
    from agent.wiring import create_engine

    return create_engine(settings)


def send_with_progress(session: Session, text: str) -> Reply:
    """Send a message, showing a progress bar while a tool reports steps."""
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        tasks: dict[str, Any] = {}

        def on_event(event: dict[str, Any]) -> None:
            if event["kind"] != "progress":
                return
            tool = str(event.get("tool"))
            if tool not in tasks:
                tasks[tool] = progress.add_task(tool, total=event.get("total"))
            progress.update(tasks[tool], completed=event.get("step"))

        return session.send(text, on_event=on_event)


@app.command()
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Output folder for revisions and transcript.html.")] = Path(
        "dialogpaint-demo"
    ),
) -> None:
    """Run a scripted conversation (clarify, confirm, edit, undo, redo, branch) on a sample image."""
    from rich.console import Console

    from agent.samples import landscape
    from agent.transcript import Entry, write_transcript

    console = Console()
    with user_errors():
        out.mkdir(parents=True, exist_ok=True)
        settings = settings_from(ctx, **({} if "data_dir" in (ctx.obj or {}) else {"data_dir": out / "data"}))
        with engine_from(settings) as engine:
            session = engine.open(landscape())
            original = session.export(out / "rev-00-original.png").name
            entries: list[Entry] = []
            shown = {session.head["id"]}
            for text in DEMO_SCRIPT:
                reply = send_with_progress(session, text)
                console.print(f"[bold blue]you:[/] {text}")
                console.print(f"[bold green]dialogpaint[/] [dim]({reply.action})[/]: {reply.text}")
                image = None
                if reply.head not in shown or reply.action in ("undo", "redo"):
                    shown.add(reply.head)
                    number = len(entries) + 1
                    image = session.export(out / f"rev-{number:02d}-{reply.action}.png").name
                entries.append(Entry(text, reply.text, reply.action, image))
            page = write_transcript(out / "transcript.html", "dialogpaint demo", original, entries)
    console.print(f"\nWrote {len(list(out.glob('rev-*.png')))} images and {page}")


@app.command()
def chat(  # noqa: PLR0917 - typer maps each parameter to an option
    ctx: typer.Context,
    image: Annotated[Path | None, typer.Argument(help="The image to edit (PNG, JPEG or WebP).")] = None,
    session_id: Annotated[str | None, typer.Option("--session", help="Resume a saved session.")] = None,
    out: Annotated[Path, typer.Option(help="Folder the current image is written to after each turn.")] = Path(
        "dialogpaint-out"
    ),
    editor: EditorOption = None,
    model_path: ModelPathOption = None,
) -> None:
    """Talk to dialogpaint about an image; type /quit to leave, /history to list revisions."""
    from rich.console import Console
    from rich.prompt import Prompt

    console = Console()
    with user_errors(), engine_from(settings_from(ctx, **chosen(editor=editor, model_path=model_path))) as engine:
        if session_id:
            session = engine.resume(session_id)
        elif image is not None:
            session = engine.open(image)
        else:
            raise typer.BadParameter("give an IMAGE or --session ID")
        console.print(f"Session [bold]{session.id}[/] (resume with --session {session.id}). /quit to leave.")
        out.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                text = Prompt.ask("[bold blue]you[/]")
            except (EOFError, KeyboardInterrupt):
                break
            if text.strip() in ("/quit", "/exit"):
                break
            if text.strip() == "/history":
                for number, revision in enumerate(session.path()):
                    console.print(f"  {number}. {revision['instruction'] or 'original'} [dim]{revision['id']}[/]")
                continue
            reply = send_with_progress(session, text)
            path = session.export(out / f"{session.id}.png")
            console.print(f"[bold green]dialogpaint[/] [dim]({reply.action})[/]: {reply.text}  [dim]{path}[/]")


@app.command()
def run(  # noqa: PLR0917 - typer maps each parameter to an option
    ctx: typer.Context,
    script: Annotated[Path, typer.Argument(help="One user turn per line; blank lines and # comments skipped.")],
    image: Annotated[Path, typer.Option(help="The image to edit.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per turn.")] = False,
    save: Annotated[Path | None, typer.Option(help="Write the final image here.")] = None,
    editor: EditorOption = None,
    model_path: ModelPathOption = None,
) -> None:
    """Run a scripted conversation non-interactively."""
    with user_errors():
        if not script.is_file():
            raise FileNotFoundError(f"no script file at {script}")
        turns = [line.strip() for line in script.read_text(encoding="utf-8").splitlines()]
        turns = [t for t in turns if t and not t.startswith("#")]
        with engine_from(settings_from(ctx, **chosen(editor=editor, model_path=model_path))) as engine:
            session = engine.open(image)
            for number, text in enumerate(turns, start=1):
                reply = session.send(text)
                if as_json:
                    typer.echo(json.dumps(turn_record(number, text, reply)))
                else:
                    typer.echo(f"you: {text}\ndialogpaint ({reply.action}): {reply.text}")
            if save is not None:
                session.export(save)


def turn_record(number: int, text: str, reply: Reply) -> dict[str, Any]:
    """The JSON line `run --json` prints for one turn."""
    return {
        "turn": number, "user": text, "action": reply.action, "reply": reply.text,
        "instruction": reply.instruction, "tool": reply.tool, "undo_steps": reply.undo_steps,
        "head": reply.head, "revisions": len(reply.revisions),
    }  # fmt: skip


@app.command("tools")
def list_tools(ctx: typer.Context) -> None:
    """List the editing tools, their parameters and where they run."""
    from rich.console import Console
    from rich.table import Table

    from agent.wiring import build_tools
    from graphs.specs import clean_schema
    from tools.base import unavailable_reason

    with user_errors():
        tools = build_tools(settings_from(ctx))
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
            status = unavailable_reason(tool) or "ready"
            caps = tool.capabilities
            table.add_row(name, f"{caps.device}, cost {caps.cost}", "\n".join(params) or "-", status)
        Console().print(table)


app.command("eval")(evaluate)
app.command("serve")(serve)
app.command("serve-tool")(serve_tool)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="dialogpaint")


if __name__ == "__main__":
    main()
