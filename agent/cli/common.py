"""What every command shares: the global options (accepted before or after the command), errors, settings."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from agent.session.engine import Engine
    from agent.session.reply import Reply
    from agent.session.session import Session
    from agent.settings import Settings

Command = TypeVar("Command", bound=Callable[..., Any])

# Each global option once: its parameter (name, type, help) and the setting it fills. `with_global_options`
# adds all of them to the app's callback and to every command, so `dialogpaint --data-dir d run s.txt` and
# `dialogpaint run s.txt --data-dir d` mean the same; given in both places, the one after the command wins.
GLOBAL_OPTIONS: tuple[tuple[str, Any, str | None], ...] = (
    ("llm", Annotated[
        str | None, typer.Option(help="'local' (default) or an OpenAI-compatible base URL. Env: DIALOGPAINT_LLM.")
    ], "llm"),
    ("llm_model", Annotated[
        str | None, typer.Option(help="Model name at that URL. Env: DIALOGPAINT_LLM_MODEL.")
    ], "llm_model"),
    ("model_path", Annotated[
        str | None, typer.Option(help="InstructPix2Pix weights (local dir). Env: DIALOGPAINT_MODEL_PATH.")
    ], "model_path"),
    ("allow_cpu", Annotated[
        bool | None,
        typer.Option("--allow-cpu", help="Run the diffusion editor on the CPU. Env: DIALOGPAINT_ALLOW_CPU."),
    ], "allow_cpu"),
    ("data_dir", Annotated[
        Path | None, typer.Option(help="Where sessions and images live. Env: DIALOGPAINT_DATA_DIR.")
    ], "data_dir"),
    ("confirm", Annotated[
        str | None, typer.Option(help="never | always | auto (default). Env: DIALOGPAINT_CONFIRM.")
    ], "confirm"),
    ("editor", Annotated[
        str | None,
        typer.Option(help="Send every edit to this tool, e.g. instruct_pix2pix. Env: DIALOGPAINT_EDITOR."),
    ], "editor"),
    ("act_model", Annotated[
        Path | None,
        typer.Option(help="A trained act-model file for the embedded policy. Env: DIALOGPAINT_ACT_MODEL."),
    ], "act_model"),
    ("disable_tool", Annotated[
        list[str] | None, typer.Option("--disable-tool", help="Hide a tool from the model (repeatable).")
    ], "tools_disabled"),
    ("verbose", Annotated[bool | None, typer.Option("--verbose", "-v", help="Log to stderr.")], None),
)  # fmt: skip


def with_global_options(command: Command) -> Command:
    """``command`` (which takes ``ctx: typer.Context``) also accepting every global option.

    The options are collected into ``ctx.obj`` (setting name -> value) for `settings_from`; the
    command itself never sees them.
    """
    signature = inspect.signature(command, eval_str=True)
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=None)
        for name, annotation, _ in GLOBAL_OPTIONS
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name, None) for name, _, _ in GLOBAL_OPTIONS}
        ctx: typer.Context = kwargs["ctx"]
        ctx.obj = {**(ctx.obj or {}), **_settings_given(given)}
        configure_logging(verbose=bool(given["verbose"]))
        return command(*args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _settings_given(given: dict[str, Any]) -> dict[str, Any]:
    return {setting: given[name] for name, _, setting in GLOBAL_OPTIONS if setting and given[name] is not None}


def configure_logging(verbose: bool) -> None:
    """Log WARNING and up to stderr, INFO too once --verbose is given; only entry points configure handlers."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")  # once per process
    if verbose:
        logging.getLogger().setLevel(logging.INFO)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures into one line on stderr and exit code 2; anything else is a bug and shows as one."""
    from pydantic import ValidationError

    from tools.errors import DialogPaintError, brief_errors

    try:
        yield
    except ValidationError as exc:
        typer.echo(f"error: invalid setting {brief_errors(exc, limit=1)}", err=True)
        raise typer.Exit(2) from None
    except (DialogPaintError, OSError) as exc:
        typer.echo(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", err=True)
        raise typer.Exit(2) from None
    except (UnicodeDecodeError, RecursionError) as exc:  # a reader without its own check: still one line
        problem = "is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "nests too deeply to read"
        typer.echo(f"error: a file given {problem} ({exc})", err=True)
        raise typer.Exit(2) from None


def settings_from(ctx: typer.Context, **overrides: Any) -> Settings:
    """Settings from explicit options, then the environment, then defaults."""
    from agent.settings import Settings

    return Settings(**{**(ctx.obj or {}), **overrides})


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
