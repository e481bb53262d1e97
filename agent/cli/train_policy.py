"""`dialogpaint train-policy`: fit the embedded policy's act model on the corpus and write its weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_CORPUS = Path("data/corpus")


def train_policy(
    corpus: Annotated[
        list[Path] | None, typer.Argument(help="Corpus JSONL files or folders (default: data/corpus).")
    ] = None,
    *,
    out: Annotated[
        Path | None, typer.Option(help="Where to write the weights (.npz; default: the shipped agent/policy file).")
    ] = None,
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

        if kind not in KINDS:
            typer.echo(f"error: --kind must be one of {', '.join(KINDS)}, got {kind!r}", err=True)
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
        model = fit_chosen(by_source(dialogues, seed), seed=seed, grid_c=grid, kind=kind, table=table)
        target.parent.mkdir(parents=True, exist_ok=True)
        model.save(target)
    typer.echo(json.dumps({"out": str(target), "dialogues": len(dialogues), **model.meta}, sort_keys=True))
