"""`dialogpaint eval`: run eval files through the configured engine and write results, metrics, reports."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agent.eval.dataset import EvalDialogue
    from agent.eval.run import EvalRun
    from agent.settings import Settings
    from tools.clip import ClipScorer

# Loggers that warn once per turn: a failed edit, a failed dialogue-model call and its retries.
TURN_LOGGERS = ("graphs.nodes.actions", "graphs.nodes.decide", "graphs.model_call")
NO_CLIP = "skipped: no CLIP weights configured (--clip-path DIR or DIALOGPAINT_CLIP_PATH)"


def evaluate(  # noqa: PLR0917 - typer maps each parameter to an argument or option
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Eval files (JSONL, one dialogue per line).")],
    out: Annotated[Path, typer.Option(help="Output folder: results.jsonl, metrics.json, report.md, report.html.")],
    seed: Annotated[int, typer.Option(help="Seed of every edit, recorded with the results.")] = 0,
    clip_path: Annotated[
        Path | None, typer.Option(help="Local CLIP folder for image metrics. Env: DIALOGPAINT_CLIP_PATH.")
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=VALUE setting (repeatable) of a second configuration B, run after configuration A "
            "(the global options), e.g. --compare llm=http://host:8000/v1. Writes a/ and b/ and a comparison."
        ),
    ] = None,
    drift: Annotated[
        bool, typer.Option("--drift", help="Rebuild every head from the original and score chained vs rebuilt.")
    ] = False,
    ready_only: Annotated[
        bool,
        typer.Option(
            "--ready-only",
            help="Offer the dialogue model only the tools that can run here, as chat does. Default: every "
            "registered tool (offer_unready_tools), so requests for a generative editor without weights are "
            "scored as the decisions they are; those edits then fail and are counted as failed edits.",
        ),
    ] = False,
) -> None:
    """Run scripted dialogues through the real graph and score every turn."""
    from agent.cli.common import settings_from, user_errors
    from agent.eval.report import differences, write_comparison
    from agent.eval.run import load_eval_files

    with user_errors():
        pairs = load_eval_files(files)
        sides = {"a": {}, "b": parse_overrides(compare)} if compare else {"run": {}}
        folders = {label: out / label if compare else out for label in sides}
        configs = {  # every configuration is validated before anything runs
            label: settings_from(
                ctx,
                **{
                    "seed": seed,
                    "offer_unready_tools": not ready_only,
                    **overrides,
                    "data_dir": folders[label] / "data",
                },
            )
            for label, overrides in sides.items()
        }
        clip, note = open_clip(clip_path or configs[next(iter(configs))].clip_path)
        runs = run_with_progress(pairs, configs, folders, clip, note, drift=drift)
        if compare:
            write_comparison(runs[0], runs[1], out)
            rows = [json.dumps(d, ensure_ascii=False, sort_keys=True) for d in differences(runs[0].rows, runs[1].rows)]
            (out / "differences.jsonl").write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    for run in runs:
        m = run.metrics
        if drift:
            typer.echo(drift_line(run.label, m["drift"]))
        failures = "".join(f", {m[k]} {k.replace('_', ' ')}" for k in ("failed_edits", "model_failures") if m[k])
        typer.echo(
            f"{run.label}: {m['turns']} turns, accuracy {m['accuracy']:.3f}, macro F1 {m['macro_f1']:.3f}, "
            f"latency p50 {m['latency_p50_s'] * 1000:.1f} ms{failures}"
        )
    typer.echo(f"wrote {out / 'report.html'}")


def drift_line(label: str, drift: dict[str, Any]) -> str:
    """One line of the drift summary: replay match rate and the drift at the longest chain scored."""
    rate = drift["replay_match_rate"]
    lengths = drift["by_edits_on_path"]
    exact = "n/a" if rate is None else f"{rate:.3f}"
    line = f"{label} drift: {drift['turns_scored']} turns rebuilt, replay bit-exact {exact}"
    if lengths:
        longest = max(lengths, key=int)
        at = lengths[longest]
        line += (
            f"; at {longest} edits L1 to original chained {at['l1_source_chained']:.4f}, "
            f"rebuilt {at['l1_source_rebuilt']:.4f}, drift {at['l1_drift']:.4f}"
        )
    return line


def run_with_progress(
    pairs: Sequence[tuple[Path, EvalDialogue]],
    configs: dict[str, Settings],
    folders: dict[str, Path],
    clip: ClipScorer | None,
    clip_note: str,
    *,
    drift: bool = False,
) -> list[EvalRun]:
    """Run each configuration in turn in a cleared folder, with one progress bar per run."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from agent.eval.report import write_report
    from agent.eval.run import fresh_run_dirs, run_eval, write_results

    turns = sum(len(d.turns) for _, d in pairs)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    runs: list[EvalRun] = []
    failures: dict[str, Counter[str]] = {}
    fresh_run_dirs(list(folders.values()))
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        for label, settings in configs.items():
            task = progress.add_task(label, total=turns)

            def advance(dialogue: str, task: TaskID = task) -> None:
                progress.update(task, advance=1, description=escape(dialogue))  # ids are data, not markup

            with counted_warnings(TURN_LOGGERS) as failures[label]:
                run = run_eval(label, pairs, settings, clip, advance, drift=drift)
            run.metrics["image"]["clip"] = clip_note
            write_results(run, folders[label])
            write_report(run, folders[label])
            runs.append(run)
    for label, counts in failures.items():
        if counts:
            typer.echo(f"{label}: {counts.total()} warnings during the turns (outcomes in results.jsonl):", err=True)
            typer.echo("".join(f"  {n} x {message}\n" for message, n in counts.most_common()), err=True, nl=False)
    return runs


@contextmanager
def counted_warnings(names: Sequence[str]) -> Iterator[Counter[str]]:
    """Count the WARNING records of some loggers by message instead of printing one per turn.

    A failed edit or model call warns on every turn it happens (160 turns without the GPU editor
    repeat one hint dozens of times); the counts are summarised after the run. With --verbose
    they are printed as well.
    """
    counts: Counter[str] = Counter()
    verbose = logging.getLogger().isEnabledFor(logging.INFO)

    def count(record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        counts[record.getMessage()] += 1
        return verbose

    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addFilter(count)
    try:
        yield counts
    finally:
        for logger in loggers:
            logger.removeFilter(count)


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """Settings from KEY=VALUE pairs; VALUE is text where the setting takes text (llm_model=123), else JSON."""
    overrides: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise typer.BadParameter(f"--compare takes KEY=VALUE, got {item!r}")
        if key == "data_dir":
            raise typer.BadParameter("--compare cannot set data_dir: every run gets a fresh one under --out")
        overrides[key] = setting_value(key, value)
    return overrides


def setting_value(key: str, value: str) -> Any:
    """``value`` as given if the setting accepts it as text (a name, a number), else parsed as JSON (a list)."""
    from pydantic import TypeAdapter, ValidationError

    from agent.settings import Settings

    field = Settings.model_fields.get(key)
    try:
        if field is not None and field.annotation is not None:  # an unknown key stays text, for Settings to name
            TypeAdapter(field.annotation).validate_python(value)
        return value
    except ValidationError:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # for Settings to say what is wrong with it


def open_clip(path: str | Path | None) -> tuple[ClipScorer | None, str]:
    """The CLIP scorer at a configured path (errors if it is unusable), or None and why it is skipped."""
    if path is None:
        return None, NO_CLIP
    from tools.clip import load_clip

    return load_clip(path), f"computed with the CLIP weights at {path}"
