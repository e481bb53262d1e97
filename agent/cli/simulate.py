"""`dialogpaint simulate`: simulated users with hidden goals against the agent and the two baselines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from agent.eval.simulate.user import SimulatedUser
    from agent.settings import Settings

SHIPPED = Path(__file__).resolve().parents[2] / "eval_sets" / "simulate" / "goals.jsonl"


def simulate(  # noqa: PLR0917 - typer maps each parameter to an argument or option
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="Case file (JSONL); default: the shipped set.")] = None,
    out: Annotated[
        Path, typer.Option(help="Output folder: results.jsonl, metrics.json, report.md, report.html.")
    ] = Path("simulate-out"),
    seed: Annotated[int, typer.Option(help="Seed of every edit, recorded with the results.")] = 0,
    max_turns: Annotated[int, typer.Option(min=1, max=20, help="User messages before a case is given up.")] = 6,
    agent: Annotated[
        list[str] | None,
        typer.Option(help="Agents to run (repeatable): policy (the configured model), rules, never_ask, ask_once."),
    ] = None,
    user_llm: Annotated[
        str | None, typer.Option(help="OpenAI-compatible base URL of a model that plays the user (default: rules).")
    ] = None,
    user_llm_model: Annotated[str, typer.Option(help="Model name of --user-llm.")] = "default",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases.")] = None,
    clip_path: Annotated[
        Path | None, typer.Option(help="Local CLIP folder: score generative successes. Env: DIALOGPAINT_CLIP_PATH.")
    ] = None,
) -> None:
    """Play simulated users with hidden goals through the real graph; score success, turns and questions."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.cli.common import settings_from, user_errors
    from agent.cli.eval import open_clip
    from agent.eval.run import fresh_run_dirs
    from agent.eval.simulate.cases import load_cases
    from agent.eval.simulate.report import write_report
    from agent.eval.simulate.run import agent_names, metrics_document, run_agents, write_results

    with user_errors():
        path = file or SHIPPED
        cases = load_cases(path)[:limit]
        settings = settings_from(ctx, seed=seed, data_dir=out / "data")
        agents = agent_names(settings, agent)
        user, who = user_from(settings, user_llm, user_llm_model)
        clip, clip_note = open_clip(clip_path or settings.clip_path)
        fresh_run_dirs([out])
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("simulate", total=len(cases) * len(agents))
            runs, editor = run_agents(
                cases,
                settings,
                agents,
                user,
                max_turns,
                lambda name: progress.update(task, advance=1, description=name),
                clip,
            )
        notes = {"cases": f"{len(cases)} from {path.name}", "user": who, "max_turns": str(max_turns),
                 "generative editor": editor, "policy": policy_name(settings.llm), "clip": clip_note}  # fmt: skip
        document = metrics_document(runs, settings, notes)
        write_results(runs, document, out)
        write_report(runs, document["config"], notes, out)
    for run in runs:
        s = run.scores["overall"]
        turns = "-" if s["mean_turns_to_success"] is None else f"{s['mean_turns_to_success']:.2f}"
        typer.echo(
            f"{run.agent}: {s['cases']} cases, success {s['success_rate']:.3f}, within 3 turns "
            f"{s['success_within_3']:.3f}, mean turns {turns}, asks on explicit {s['ask_rate_explicit']}"
        )
    typer.echo(f"wrote {out / 'report.html'}")


def policy_name(llm: str) -> str:
    """What the 'policy' agent is."""
    from tools.redaction import redacted

    return "embedded policy (rules + learned act model)" if llm == "local" else f"served model at {redacted(llm)}"


def user_from(settings: Settings, url: str | None, model: str) -> tuple[SimulatedUser, str]:
    """The simulated user: rule-based, or a model at ``url``."""
    from agent.eval.simulate.user import RuleUser

    if url is None:
        return RuleUser(), "rule-based (deterministic)"
    from agent.eval.simulate.llm_user import LlmUser
    from agent.models.factories import openai_compatible
    from tools.redaction import redacted

    served = settings.model_copy(update={"llm": url, "llm_model": model, "llm_temperature": 0.0, "llm_max_tokens": 64})
    return LlmUser(openai_compatible(served)), f"{model} at {redacted(url)}"
