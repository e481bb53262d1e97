"""`dialogpaint make-pairs`: training pairs for the editor from edit rows, with InstructPix2Pix's CLIP filter."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from agent.settings import Settings
    from agent.train.pairs.make import PairsPlan, Renderers


def make_pairs_command(  # noqa: PLR0917 - typer maps each parameter to an argument or option
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Output folder (imagefolder layout); rerun to resume.")],
    rows: Annotated[
        Path | None, typer.Argument(help="JSONL of {caption, instruction, edited_caption[, image]} rows.")
    ] = None,
    captions: Annotated[
        Path | None,
        typer.Option(help="Step 1 first: captions file -> OUT/edits.jsonl via the served model (--llm URL)."),
    ] = None,
    seeds: Annotated[
        Path | None, typer.Option(help="Step 1's hand-written triples, e.g. data/seed_edits.jsonl.")
    ] = None,
    edits: Annotated[int, typer.Option(min=1, help="Step 1: edit rows wanted in OUT/edits.jsonl in all.")] = 100,
    sd_path: Annotated[
        Path | None, typer.Option(help="Local Stable Diffusion (text-to-image) pipeline folder, for caption rows.")
    ] = None,
    clip_path: Annotated[
        Path | None, typer.Option(help="Local CLIP folder for the filter. Env: DIALOGPAINT_CLIP_PATH.")
    ] = None,
    steps: Annotated[int, typer.Option(min=1, max=200, help="Denoising steps per image.")] = 50,
    guidance_scale: Annotated[float, typer.Option(min=1.0, max=20.0, help="Text guidance scale.")] = 7.5,
    cross_fraction: Annotated[
        list[float] | None,
        typer.Option(min=0.0, max=1.0, help="Share cross-attention for this fraction of the steps (repeatable)."),
    ] = None,
    self_fraction: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share self-attention for this fraction of the steps.")
    ] = 0.2,
    samples: Annotated[int, typer.Option(min=1, max=1000, help="Seeds per row (each at every fraction).")] = 4,
    keep: Annotated[int, typer.Option(min=1, max=100, help="Best pairs kept per row after the filter.")] = 1,
    resolution: Annotated[int, typer.Option(min=64, max=1024, help="Image side, a multiple of 64.")] = 512,
    seed: Annotated[int, typer.Option(min=0, help="Run seed; every candidate's seed derives from it.")] = 0,
    caption_threshold: Annotated[float | None, typer.Option(help="Least image-caption similarity.")] = None,
    directional_threshold: Annotated[float | None, typer.Option(help="Least directional similarity.")] = None,
    image_threshold: Annotated[float | None, typer.Option(help="Least input-edited image similarity.")] = None,
) -> None:
    """Render (input, edited) image pairs for each row, keep the best by CLIP, write a trainable folder."""
    from agent.cli.common import settings_from, user_errors
    from agent.train.pairs.clip_filter import Thresholds
    from agent.train.pairs.folder import PairsFolder
    from agent.train.pairs.make import PairsPlan
    from agent.train.pairs.render import Sampling
    from agent.train.pairs.rows import PairsError, read_rows

    given = {"pairs_caption_threshold": caption_threshold, "pairs_directional_threshold": directional_threshold,
             "pairs_image_threshold": image_threshold}  # fmt: skip
    with user_errors():
        if resolution % 64:
            raise PairsError(f"--resolution must be a multiple of 64, got {resolution}")
        settings = settings_from(ctx, **{k: v for k, v in given.items() if v is not None})
        clip = clip_path or settings.clip_path
        if clip is None:
            raise PairsError("the CLIP filter needs CLIP weights: pass --clip-path DIR (or DIALOGPAINT_CLIP_PATH)")
        if (rows is None) == (captions is None):
            raise PairsError("give either a ROWS file or --captions FILE (to write the rows first), not both")
        if captions is not None:
            rows = edit_rows_from_captions(captions, seeds, edits, out, settings=settings, seed=seed)
        edit_rows = read_rows(rows or out / "edits.jsonl")
        plan = PairsPlan(
            sampling=Sampling(steps, guidance_scale, resolution, self_fraction),
            cross_fractions=tuple(cross_fraction or (0.3, 0.5, 0.7)),
            samples=samples, keep=keep, seed=seed,
            thresholds=Thresholds(caption=settings.pairs_caption_threshold,
                                  directional=settings.pairs_directional_threshold,
                                  image=settings.pairs_image_threshold),
            sd_path=str(sd_path) if sd_path else None, editor_path=settings.model_path, clip_path=str(clip),
        )  # fmt: skip
        folder = PairsFolder(out, plan.settings(), environment())
        done, kept = run_with_progress(edit_rows, folder, plan, load_models(plan, settings, edit_rows))
    typer.echo(f"{done} rows rendered now, {kept} pairs kept; {len(folder.done)} rows done in {out}")


def edit_rows_from_captions(
    captions: Path, seeds: Path | None, wanted: int, out: Path, *, settings: Settings, seed: int
) -> Path:
    """make-pairs step 1: (caption, instruction, edited caption) rows from the served model, into OUT/edits.jsonl."""
    from agent.cli.synth import summary
    from agent.train.pairs.rows import PairsError
    from agent.train.synth.edits import synthesize_edit_captions

    if seeds is None:
        raise PairsError("--captions needs --seeds FILE: the hand-written triples, e.g. data/seed_edits.jsonl")
    out.mkdir(parents=True, exist_ok=True)
    target = out / "edits.jsonl"
    report = synthesize_edit_captions(captions, target, wanted, seeds=seeds, settings=settings, seed=seed)
    typer.echo(summary(report, target), err=True)
    return target


def load_models(plan: PairsPlan, settings: Settings, rows: list[Any]) -> Renderers:
    """The models the rows need, on the configured device (the CPU only with --allow-cpu)."""
    from agent.train.pairs.make import Renderers
    from agent.train.pairs.render import load_text_to_image
    from tools.clip import load_clip
    from tools.errors import MissingExtra
    from tools.instruct_pix2pix import InstructPix2Pix

    try:
        from tools.pix2pix_pipeline import resolve_device

        device = resolve_device(settings.device, settings.allow_cpu)
    except ImportError as exc:
        raise MissingExtra("make-pairs needs torch and diffusers", "train") from exc
    text_to_image = editor = None
    if plan.sd_path and any(row.image is None for row in rows):
        text_to_image = load_text_to_image(Path(plan.sd_path), device)
    if plan.editor_path and any(row.image is not None for row in rows):
        editor = InstructPix2Pix(
            plan.editor_path, device=device, allow_cpu=settings.allow_cpu, max_side=plan.sampling.resolution
        )
        editor.load()
    return Renderers(text_to_image, editor, load_clip(plan.clip_path, device))


def run_with_progress(rows: list[Any], folder: Any, plan: PairsPlan, models: Renderers) -> tuple[int, int]:
    """make_pairs with a rich progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from agent.train.pairs.make import make_pairs

    columns = (TextColumn("pairs"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[kept]} kept"),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("rows", total=len(rows), completed=len(folder.done & {r.key for r in rows}), kept=0)

        def advance(finished: int, total: int, kept: int) -> None:
            progress.update(task, completed=finished, kept=kept)

        return make_pairs(rows, folder, plan, models, advance)


def environment() -> dict[str, str]:
    """Library versions, recorded in the manifest (not compared on resume)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("torch", "diffusers", "transformers"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    return found
