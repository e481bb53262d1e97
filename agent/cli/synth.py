"""`dialogpaint synth`: self-instruct dialogues (or edit captions) from a served model, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from rich.progress import TaskID

    from agent.train.synth.engine import SynthReport


def synth(  # noqa: PLR0917 - typer maps each parameter to an option
    ctx: typer.Context,
    captions: Annotated[Path, typer.Option(help="Captions: JSONL rows with a 'caption', or one caption a line.")],
    seeds: Annotated[Path, typer.Option(help="Seed library: eval-set dialogues, or triples for --task edits.")],
    out: Annotated[Path, typer.Option(help="Output JSONL; rerunning with the same file continues it.")],
    n: Annotated[int, typer.Option("-n", help="Rows wanted in --out in all (rows already there count).")],
    k: Annotated[int, typer.Option(help="Seed examples shown per request.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the sampling of captions, examples and the model.")] = 0,
    task: Annotated[
        Literal["dialogues", "edits"],
        typer.Option(help="dialogues (labelled, eval-set format) or edits (caption -> instruction + edited caption)."),
    ] = "dialogues",
    max_requests: Annotated[
        int | None, typer.Option(help="Stop after this many requests (default: 4 per row still missing).", min=1)
    ] = None,
) -> None:
    """Synthesise training data with a served model (--llm URL): self-instruct from captions and seeds."""
    from rich.progress import Progress

    from agent.cli.common import settings_from, user_errors
    from agent.train.synth.dialogues import synthesize_dialogues
    from agent.train.synth.edits import synthesize_edit_captions

    run = synthesize_dialogues if task == "dialogues" else synthesize_edit_captions
    progress = Progress()  # started once the inputs are checked, so a bad input prints only its error
    bars: list[TaskID] = []

    def on_progress(report: SynthReport) -> None:
        if not bars:
            progress.start()
            bars.append(progress.add_task(f"synth {task}", total=n))
        skipped = sum(report.skipped.values())
        progress.update(bars[0], completed=report.total, description=f"synth {task} ({skipped} skipped)")

    with user_errors():
        try:
            report = run(
                captions, out, n, seeds=seeds, settings=settings_from(ctx), k=k, seed=seed,
                max_requests=max_requests, on_progress=on_progress,
            )  # fmt: skip
        finally:
            if bars:
                progress.stop()
    typer.echo(summary(report, out))
    for kind, detail in report.first_problem.items():
        typer.echo(f"  first {kind}: {detail}")


def summary(report: SynthReport, out: Path) -> str:
    """One line: rows written and found, requests, answers skipped by reason."""
    skipped = ", ".join(f"{report.skipped[k]} {k}" for k in ("malformed", "invalid", "duplicate"))
    short = "" if report.total >= report.wanted else f" (stopped short of {report.wanted}: raise --max-requests)"
    return (
        f"synth: {out} holds {report.total} rows ({report.kept} new, {report.resumed} from before){short}; "
        f"{report.requests} requests, skipped {skipped}"
    )
