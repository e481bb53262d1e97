"""The conversation commands: `demo`, `chat` (interactive) and `run` (a scripted conversation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli.common import engine_from, send_with_progress, settings_from, user_errors

if TYPE_CHECKING:
    from agent.session.reply import Reply

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
    "apply a sepia tone",
    "sharpen it",
    "forget the sepia but keep the rest",
)


def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Output folder for revisions and transcript.html.")] = Path(
        "dialogpaint-demo"
    ),
) -> None:
    """Run a scripted conversation (clarify, confirm, edit, undo, redo, branch, forget, replay) on a sample image."""
    from rich.console import Console
    from rich.markup import escape

    from agent.cli.transcript import Entry, write_transcript
    from agent.samples import landscape

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
                console.print(f"[bold blue]you:[/] {escape(text)}")
                console.print(f"[bold green]dialogpaint[/] [dim]({reply.action})[/]: {escape(reply.text)}")
                image = None
                if reply.head not in shown or reply.action in ("undo", "redo"):
                    shown.add(reply.head)
                    number = len(entries) + 1
                    image = session.export(out / f"rev-{number:02d}-{reply.action}.png").name
                entries.append(Entry(text, reply.text, reply.action, image))
            page = write_transcript(out / "transcript.html", "dialogpaint demo", original, entries)
            replayed = session.replay()
    same = "bit for bit the same image" if replayed.matches else "a DIFFERENT image"
    console.print(f"[bold]replay[/] of the {replayed.steps} edits from the original: {same}")
    console.print(f"\nWrote {len(list(out.glob('rev-*.png')))} images and {escape(str(page))}")
    console.print(
        f"Each edited PNG carries its recipe: dialogpaint inspect {escape(str(out / (entries[-1].image or original)))}"
    )


def chat(
    ctx: typer.Context,
    image: Annotated[Path | None, typer.Argument(help="The image to edit (PNG, JPEG or WebP).")] = None,
    session_id: Annotated[str | None, typer.Option("--session", help="Resume a saved session.")] = None,
    out: Annotated[Path, typer.Option(help="Folder the current image is written to after each turn.")] = Path(
        "dialogpaint-out"
    ),
) -> None:
    """Talk to dialogpaint about an image; type /quit to leave, /history to list revisions."""
    from rich.console import Console
    from rich.markup import escape
    from rich.prompt import Prompt

    console = Console()
    with user_errors(), engine_from(settings_from(ctx)) as engine:
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
                    console.print(
                        f"  {number}. {escape(revision['instruction'] or 'original')} [dim]{revision['id']}[/]"
                    )
                continue
            reply = send_with_progress(session, text)
            path = session.export(out / f"{session.id}.png")
            said = f"[bold green]dialogpaint[/] [dim]({reply.action})[/]: {escape(reply.text)}"
            console.print(f"{said}  [dim]{escape(str(path))}[/]")


def run(
    ctx: typer.Context,
    script: Annotated[Path, typer.Argument(help="One user turn per line; blank lines and # comments skipped.")],
    image: Annotated[Path, typer.Option(help="The image to edit.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per turn.")] = False,
    save: Annotated[Path | None, typer.Option(help="Write the final image here.")] = None,
) -> None:
    """Run a scripted conversation non-interactively."""
    with user_errors():
        if not script.is_file():
            raise FileNotFoundError(f"no script file at {script}")
        turns = [line.strip() for line in script.read_text(encoding="utf-8").splitlines()]
        turns = [t for t in turns if t and not t.startswith("#")]
        with engine_from(settings_from(ctx)) as engine:
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
        "actions": list(reply.actions),  # an edit reply closed by a question lists 'clarify' too
    }  # fmt: skip
