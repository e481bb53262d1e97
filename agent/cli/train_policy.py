"""`dialogpaint train-policy`: fit the embedded policy's act model on the corpus and write its weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

DEFAULT_CORPUS = Path("data/corpus")


def train_policy(
    corpus: Annotated[
        list[Path] | None, typer.Argument(help="Corpus JSONL files or folders (default: data/corpus).")
    ] = None,
    *,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the weights (.npz). Use it with --act-model FILE (DIALOGPAINT_ACT_MODEL) to decide "
            "with them. Required unless --overwrite-shipped."
        ),
    ] = None,
    overwrite_shipped: Annotated[
        bool,
        typer.Option("--overwrite-shipped", help="Replace the shipped weights (agent/policy/act_model.npz) instead."),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the augmenter and the solver: same seed, same weights.")] = 0,
    kind: Annotated[str, typer.Option(help="Act model: linear (logistic regression) or mlp (one hidden layer).")] = (
        "linear"
    ),
    c: Annotated[float | None, typer.Option("--c", help="Fix the L2 strength C instead of choosing it.")] = None,
    semantic: Annotated[
        bool, typer.Option(help="Also read sentence vectors from the shipped token table (agent/policy/embedding.py).")
    ] = True,
) -> None:
    """Train the act model of the embedded policy (needs the `learn` extra: scikit-learn).

    C and the margins by which the model may override the rules are chosen by leave-one-source-out
    over the corpus sources (agent/train/policy/select.py).
    """
    from agent.cli.common import user_errors
    from agent.policy.act_model import SHIPPED

    with user_errors():
        try:
            from agent.train.policy.select import GRID_C, fit_chosen
            from agent.train.policy.train import by_source, read_dialogues
        except ImportError as exc:
            typer.echo(f"error: train-policy needs the learn extra (pip install 'dialogpaint[learn]'): {exc}", err=True)
            raise typer.Exit(2) from None
        from agent.train.policy.train import KINDS

        def fit_with_progress(sources: Any, **options: Any) -> Any:
            """fit_chosen with a progress bar over its fits (stderr, so stdout stays one JSON line)."""
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            from agent.train.policy.select import fits_needed

            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
                task = bar.add_task("fitting", total=fits_needed(sources, options["grid_c"]))
                started = False

                def step(what: str) -> None:
                    nonlocal started
                    bar.update(task, advance=1 if started else 0, description=f"fitting {what}")
                    started = True

                model = fit_chosen(sources, progress=step, **options)
                bar.update(task, completed=bar.tasks[0].total)
            return model

        if kind not in KINDS:
            typer.echo(f"error: --kind must be one of {', '.join(KINDS)}, got {kind!r}", err=True)
            raise typer.Exit(2)
        if (out is None) == (not overwrite_shipped):
            typer.echo(
                "error: give --out FILE (then --act-model FILE to use it), or --overwrite-shipped to replace "
                f"the shipped weights at {SHIPPED}; not both",
                err=True,
            )
            raise typer.Exit(2)
        target = out or SHIPPED
        if target.suffix != ".npz":
            typer.echo(f"error: --out must be a .npz file, got {target}", err=True)
            raise typer.Exit(2)
        dialogues = read_dialogues(corpus or [DEFAULT_CORPUS])
        if c is not None and c <= 0:
            typer.echo(f"error: --c must be > 0, got {c}", err=True)
            raise typer.Exit(2)
        grid = (c,) if c else GRID_C if kind == "linear" else (1.0,)  # one MLP fit per fold: C fixed
        from agent.policy.embedding import shipped_table

        table = shipped_table() if semantic else None
        model = fit_with_progress(by_source(dialogues, seed), seed=seed, grid_c=grid, kind=kind, table=table)
        target.parent.mkdir(parents=True, exist_ok=True)
        model.save(target)
    typer.echo(json.dumps({"out": str(target), "dialogues": len(dialogues), **model.meta}, sort_keys=True))
