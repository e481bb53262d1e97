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
    out: Annotated[
        Path | None, typer.Option(help="Where to write the weights (.npz; default: the shipped agent/policy file).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the augmenter and the solver: same seed, same weights.")] = 0,
) -> None:
    """Train the act model of the embedded policy (needs the `learn` extra: scikit-learn)."""
    from agent.cli.common import user_errors
    from agent.policy.act_model import SHIPPED

    with user_errors():
        try:
            from agent.learn.train import fit, read_dialogues, training_examples
        except ImportError as exc:
            typer.echo(f"error: train-policy needs the learn extra (pip install 'dialogpaint[learn]'): {exc}", err=True)
            raise typer.Exit(2) from None
        target = out or SHIPPED
        if target.suffix != ".npz":
            typer.echo(f"error: --out must be a .npz file, got {target}", err=True)
            raise typer.Exit(2)
        dialogues = read_dialogues(corpus or [DEFAULT_CORPUS])
        model = fit(training_examples(dialogues, seed), seed=seed)
        target.parent.mkdir(parents=True, exist_ok=True)
        model.save(target)
    typer.echo(json.dumps({"out": str(target), "dialogues": len(dialogues), **model.meta}, sort_keys=True))
