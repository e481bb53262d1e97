"""The recipe commands: `inspect` prints the recipe chain a PNG carries; `replay` rebuilds an image from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.common import engine_from, settings_from, user_errors


def inspect_file(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A PNG exported or served by dialogpaint.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
) -> None:
    """Print the recipe chain a PNG carries: instructions, tools, params, seeds, image hashes, versions."""
    from agent.session.provenance import read_provenance

    with user_errors():
        if not file.is_file():
            raise FileNotFoundError(f"no file at {file}")
        record = read_provenance(file)
    if as_json:
        typer.echo(record.model_dump_json(indent=2))
        return
    typer.echo(f"revision {record.revision} (dialogpaint {record.dialogpaint})")
    typer.echo(f"original  sha256 {record.original}")
    for number, step in enumerate(record.chain, start=1):
        params = {k: v for k, v in step.params.items() if k not in ("seed", "instruction")}
        model = f" model {step.model}" if step.model else ""
        typer.echo(f"{number}. {step.instruction} [{step.tool}{model}] seed {step.seed} {json.dumps(params)}")
        typer.echo(f"   sha256 {step.parent_image[:16]}... -> {step.image[:16]}...")
    typer.echo(f"image     sha256 {record.image}")


def replay(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="A session id, or a PNG exported by dialogpaint (give --original).")],
    original: Annotated[
        Path | None, typer.Option(help="The original image the PNG was made from (for a PNG source).")
    ] = None,
    revision: Annotated[str | None, typer.Option(help="The session's revision to rebuild (default: current).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the rebuilt image here (PNG).")] = None,
) -> None:
    """Rebuild an image from the original through its recipe chain and check it against the record.

    Exits 0 when the result is bit for bit the recorded image, 1 when it differs (other weights,
    device or library versions), 2 on bad input.
    """
    from agent.session.replay import replay_file

    with user_errors():
        path = Path(source)
        file_mode = path.suffix.lower() == ".png" or path.is_file()
        if file_mode and original is None:
            raise FileNotFoundError(f"replaying the file {path} needs --original, the image it was made from")
        if file_mode and not path.is_file():
            raise FileNotFoundError(f"no file at {path}")
        with engine_from(settings_from(ctx)) as engine:
            if file_mode:
                assert original is not None
                done = replay_file(engine.deps.tools, path, engine.limits.image(original))
            else:
                done = engine.resume(source).replay(revision)
        if out is not None:
            done.image.save(out, format="PNG")
    verdict = "matches" if done.matches else "DIFFERS from"
    typer.echo(f"replayed {done.steps} edit(s): {verdict} the recorded image (sha256 {done.expected[:16]}...)")
    if done.diverged_at is not None:
        typer.echo(f"the rebuilt chain first differs from the record at edit {done.diverged_at}")
    if not done.matches:
        typer.echo(f"rebuilt sha256 {done.key[:16]}...")
        raise typer.Exit(1)
