"""`dialogpaint finetune-editor`: fine-tune InstructPix2Pix on a make-pairs or MagicBrush folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from agent.train.editor.loop import EditorRecipe, TrainReport


def finetune_editor_command(  # noqa: PLR0917 - typer maps each parameter to an argument or option
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(help="A make-pairs folder (metadata.jsonl) or a MagicBrush parquet folder.")],
    base: Annotated[Path, typer.Option(help="Pipeline folder to start from: Stable Diffusion or InstructPix2Pix.")],
    out: Annotated[Path, typer.Option(help="Output pipeline folder (--model-path of the tool); rerun to resume.")],
    steps: Annotated[int, typer.Option(min=1, max=10_000_000, help="Optimizer steps in all.")] = 1000,
    batch_size: Annotated[int, typer.Option(min=1, max=1024, help="Pairs per batch.")] = 4,
    gradient_accumulation: Annotated[int, typer.Option(min=1, max=1024, help="Batches per optimizer step.")] = 1,
    learning_rate: Annotated[float, typer.Option(min=1e-8, max=1.0, help="AdamW learning rate.")] = 5e-5,
    resolution: Annotated[int, typer.Option(min=64, max=1024, help="Training side, a multiple of 64.")] = 256,
    conditioning_dropout: Annotated[
        float, typer.Option(min=0.0, max=0.33, help="p of dropping the prompt, the image, and both (each).")
    ] = 0.05,
    ema: Annotated[bool, typer.Option(help="Keep and save an exponential moving average of the UNet.")] = False,
    mixed_precision: Annotated[
        Literal["no", "fp16", "bf16"], typer.Option(help="accelerate's mixed precision.")
    ] = "no",
    gradient_checkpointing: Annotated[bool, typer.Option(help="Trade compute for UNet activation memory.")] = False,
    checkpoint_every: Annotated[int, typer.Option(min=1, help="Save a resumable checkpoint every N steps.")] = 500,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the data order, noise and dropout.")] = 0,
) -> None:
    """Fine-tune the InstructPix2Pix editor (diffusers + accelerate) and write a pipeline folder the tool loads."""
    from agent.cli.common import user_errors
    from agent.train.editor.data import FinetuneError
    from agent.train.editor.loop import EditorRecipe

    with user_errors():
        if resolution % 64:
            raise FinetuneError(f"--resolution must be a multiple of 64, got {resolution}")
        recipe = EditorRecipe(
            base=base, data=data, out=out, steps=steps, batch_size=batch_size,
            gradient_accumulation=gradient_accumulation, learning_rate=learning_rate, resolution=resolution,
            conditioning_dropout=conditioning_dropout, ema=ema, mixed_precision=mixed_precision,
            gradient_checkpointing=gradient_checkpointing, checkpoint_every=checkpoint_every, seed=seed,
        )  # fmt: skip
        report = train_with_progress(recipe)
    last = f", last loss {report.losses[-1]:.4f}" if report.losses else ""
    typer.echo(f"trained steps {report.start_step}..{report.steps}{last}; pipeline in {out}")


def train_with_progress(recipe: EditorRecipe) -> TrainReport:
    """finetune_editor with a rich progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from agent.train.editor.loop import finetune_editor
    from tools.errors import MissingExtra

    columns = (TextColumn("steps"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("train", total=recipe.steps, loss="-")

        def advance(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, loss=f"{loss:.4f}")

        try:
            return finetune_editor(recipe, advance)
        except ImportError as exc:
            raise MissingExtra(f"finetune-editor needs {exc.name}", "train") from exc
