"""Run the case file for every agent: the configured model, the rules-only policy and the two baselines.

Each agent gets one engine on the run's data folder (sessions named AGENT-NNNNN), the same settings
(the confirmation policy included: a proposal is the graph's, whichever model decided the edit), the
same tools (the generative editor's stand-in when no weights are configured,
``agent.eval.simulate.editor``) and every case in its own session. Nothing random is recorded: the
same seed and cases give the same files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from PIL import Image

from agent.eval.run import DEFAULT_CAPTION, describe
from agent.eval.simulate.baselines import BASELINES, BaselineModel
from agent.eval.simulate.cases import SimCase
from agent.eval.simulate.editor import with_stand_in
from agent.eval.simulate.harness import CaseResult, run_case
from agent.eval.simulate.scores import scores
from agent.eval.simulate.user import SimulatedUser
from agent.models.factories import make_chat_model
from agent.samples import landscape
from agent.settings import Settings
from agent.wiring import build_tools, create_engine
from tools.clip import ClipScorer, caption_after
from tools.errors import DialogPaintError
from tools.images import read_image_file

AGENTS = ("policy", "rules", *BASELINES)  # "policy": the configured model (the embedded policy or --llm)


class SimulateError(DialogPaintError, ValueError):
    """A simulate request that cannot run as asked (an unknown agent, a combination that does not apply)."""


@dataclass
class AgentRun:
    """What one agent did on every case."""

    agent: str
    results: list[CaseResult]
    scores: dict[str, Any]


def agent_names(settings: Settings, wanted: Sequence[str] | None) -> list[str]:
    """The agents to run: all that apply (rules only with the embedded policy), or those asked for."""
    names = list(wanted) if wanted else [a for a in AGENTS if a != "rules" or settings.llm == "local"]
    unknown = [n for n in names if n not in AGENTS]
    if unknown:
        raise SimulateError(f"unknown agent {unknown[0]!r}; known: {', '.join(AGENTS)}")
    if "rules" in names and settings.llm != "local":
        raise SimulateError("the 'rules' agent is the embedded policy without its learned model; it needs --llm local")
    return names


def agent_model(name: str, settings: Settings) -> BaseChatModel:
    """The dialogue model of an agent: the configured one, the rules alone, or a baseline around the first."""
    if name == "rules":
        from agent.policy.local import LocalPolicy

        return LocalPolicy(learned=False)
    model = make_chat_model(settings)
    return model if name == "policy" else BaselineModel(inner=model, kind=name)


def run_agents(  # noqa: PLR0917 - the run and its parts
    cases: Sequence[SimCase],
    settings: Settings,
    agents: Sequence[str],
    user: SimulatedUser,
    max_turns: int,
    advance: Callable[[str], None] = lambda _: None,
    clip: ClipScorer | None = None,
) -> tuple[list[AgentRun], str]:
    """Every case for every agent, and which generative editor ran (``clip`` scores generative successes)."""
    images: dict[str, Image.Image] = {}
    runs: list[AgentRun] = []
    editor = ""
    has_weights = settings.model_path is not None or "instruct_pix2pix" in settings.remote_tools
    for name in agents:
        tools, editor = with_stand_in(build_tools(settings), has_weights)
        results = []
        with create_engine(settings, model=agent_model(name, settings), tools=tools) as engine:
            for number, case in enumerate(cases):
                image = _image(images, case.image)
                session = engine.open(image, session_id=f"{name}-{number:05d}")
                result = run_case(session, case, user, engine.deps.tools, max_turns)
                if clip is not None and case.generative and result.success:
                    after = caption_after(DEFAULT_CAPTION, [edit.instruction for edit in case.goal])
                    scores_ = clip.similarities(image, session.image(), DEFAULT_CAPTION, after)
                    result = replace(result, clip=scores_)
                results.append(result)
                advance(name)
        runs.append(AgentRun(name, results, scores(results)))
    return runs, editor


def _image(cache: dict[str, Image.Image], path: str | None) -> Image.Image:
    key = path or ""
    if key not in cache:
        cache[key] = read_image_file(Path(path)) if path else landscape()
    return cache[key]


def metrics_document(runs: Sequence[AgentRun], settings: Settings, extra: dict[str, Any]) -> dict[str, Any]:
    """metrics.json: the scores of every agent and every setting of the run."""
    return {"config": describe(settings), **extra, "agents": {run.agent: run.scores for run in runs}}


def write_results(runs: Sequence[AgentRun], document: dict[str, Any], out: Path) -> None:
    """results.jsonl (one row per agent and case) and metrics.json."""
    rows = [{"agent": run.agent, **r.record()} for run in runs for r in run.results]
    lines = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    (out / "results.jsonl").write_text(lines, encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
