"""The self-instruct loop: caption + k sampled seeds -> model -> parse -> validate -> ROUGE-L dedup -> JSONL.

One loop serves every task (dialogues, edit captions); a task says how a seed is shown, what the
model is asked, how an answer becomes a row, and which text of a row is compared for duplicates.
Request ``i`` of a run draws its caption, examples and sampling seed from ``Random(f"{seed}:{i}")``,
so a resumed run asks exactly what the uninterrupted run would have asked next.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from agent.train.synth.captions import Caption
from agent.train.synth.similarity import RougePool
from tools import safe_json
from tools.errors import DialogPaintError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

    from agent.settings import Settings

logger = logging.getLogger(__name__)

Problem = Literal["malformed", "invalid", "duplicate"]
FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
REQUESTS_PER_ROW = 4  # default cap on requests: a model that only repeats itself must not loop forever


class SynthError(DialogPaintError):
    """A synthesis run that cannot go on: bad input, an unreadable out file, or the model server failing."""


class Rejected(Exception):
    """A model answer that is skipped: ``kind`` says why it was counted, ``detail`` what was wrong."""

    def __init__(self, kind: Problem, detail: str) -> None:
        super().__init__(detail)
        self.kind: Problem = kind
        self.detail = detail


class SynthTask(Protocol):
    """What one kind of synthesis asks for and how its answers become rows."""

    head: str  # the system prompt

    def example(self, seed: dict[str, Any]) -> str:
        """A seed row as the model is shown it."""

    def ask(self, caption: Caption) -> str:
        """The request after the examples, for one caption."""

    def parse(self, answer: str, caption: Caption, request: int) -> dict[str, Any]:
        """The row an answer makes (before the run's record is added); raises Rejected."""

    def key(self, row: dict[str, Any]) -> str:
        """The text of a seed or output row that the duplicate filter compares."""


@dataclass(frozen=True)
class SynthPlan:
    """One run: where the material comes from, how much to make and how to sample."""

    captions: Sequence[Caption]
    seeds: Sequence[dict[str, Any]]  # each with an "id"
    out: Path
    n: int  # rows wanted in ``out`` in all, resumed ones included
    k: int = 3
    seed: int = 0
    max_requests: int | None = None  # default: REQUESTS_PER_ROW per row still missing

    def check(self) -> None:
        """Refuse a plan that cannot run, naming the limit."""
        if self.n < 1:
            raise SynthError(f"-n must be at least 1, got {self.n}")
        if not self.captions:
            raise SynthError("no captions to write about (the captions file is empty)")
        if not 1 <= self.k <= len(self.seeds):
            raise SynthError(f"--k must be between 1 and the {len(self.seeds)} seeds, got {self.k}")


@dataclass
class SynthReport:
    """What a run did: rows kept (and found from an earlier run), requests, answers skipped and why."""

    wanted: int
    resumed: int = 0
    kept: int = 0
    requests: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    first_problem: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows in the out file now."""
        return self.resumed + self.kept

    def skip(self, problem: Rejected) -> None:
        """Count a skipped answer, keeping the first reason of each kind for the summary."""
        self.skipped[problem.kind] += 1
        self.first_problem.setdefault(problem.kind, problem.detail)


def first_json_object(answer: str) -> dict[str, Any]:
    """The first JSON object in a model answer (inside a ``` fence if there is one); raises Rejected."""
    body = match.group(1) if (match := FENCE.search(answer)) else answer
    start = body.find("{")
    if start < 0:
        raise Rejected("malformed", f"no JSON object in the answer {answer[:60]!r}")
    try:
        value, _ = json.JSONDecoder().raw_decode(body[start:])
    except json.JSONDecodeError as exc:
        raise Rejected("malformed", f"not valid JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(value, dict):
        raise Rejected("malformed", "the answer is not a JSON object")
    return value


def synthesize(
    task: SynthTask,
    plan: SynthPlan,
    settings: Settings,
    threshold: float,
    *,
    model: BaseChatModel | None = None,
    on_progress: Callable[[SynthReport], None] = lambda _: None,
) -> SynthReport:
    """Append synthesised rows to ``plan.out`` until it holds ``plan.n``; rows already there are kept.

    Args:
        threshold: ROUGE-L F1 above which an answer duplicates a seed or a kept row.
        model: the chat model (default: the OpenAI-compatible client the settings describe).
        on_progress: called with the report once the inputs are checked and after every request.

    Raises:
        SynthError: a bad plan, an out file that is not this task's output, or the server failing.
    """
    plan.check()
    existing = read_rows(plan.out, task)
    report = SynthReport(wanted=plan.n, resumed=len(existing))
    missing = plan.n - len(existing)
    if missing <= 0:
        return report
    model = model or chat_model(settings)
    pool = RougePool(threshold, [task.key(s) for s in plan.seeds] + [task.key(r) for r in existing])
    request = 1 + max((int(r.get("request", 0)) for r in existing), default=-1)
    cap = plan.max_requests if plan.max_requests is not None else REQUESTS_PER_ROW * missing
    plan.out.parent.mkdir(parents=True, exist_ok=True)
    on_progress(report)  # inputs are read and checked: the run starts
    with plan.out.open("a", encoding="utf-8") as out:
        while report.kept < missing and report.requests < cap:
            row = one_request(task, plan, request, model, settings)
            report.requests += 1
            request += 1
            if isinstance(row, Rejected):
                report.skip(row)
            elif pool.is_duplicate(task.key(row)):
                report.skip(Rejected("duplicate", f"ROUGE-L above {threshold:g}: {task.key(row)[:60]!r}"))
            else:
                pool.add(task.key(row))
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()  # a kill loses at most the row being written; read_rows drops a torn line
                report.kept += 1
            on_progress(report)
    logger.info("synth: %d kept, %d requests, skipped %s", report.kept, report.requests, dict(report.skipped))
    return report


def one_request(
    task: SynthTask, plan: SynthPlan, request: int, model: BaseChatModel, settings: Settings
) -> dict[str, Any] | Rejected:
    """Ask the model once for request number ``request``: the row it makes, or why it was rejected."""
    from langchain_core.messages import HumanMessage, SystemMessage

    rng = random.Random(f"{plan.seed}:{request}")
    caption = rng.choice(plan.captions)
    examples = rng.sample(list(plan.seeds), plan.k)
    sampling_seed = rng.randrange(2**31)
    user = "\n\n".join([*(task.example(e) for e in examples), task.ask(caption)])
    answer = call_model(model, [SystemMessage(task.head), HumanMessage(user)], sampling_seed, settings)
    try:
        row = task.parse(answer, caption, request)
    except Rejected as problem:
        return problem
    record = {
        "model": settings.llm_model,
        "prompt": f"{task.head}\n\n{user}",
        "seed": sampling_seed,
        "run_seed": plan.seed,
        "request": request,
        "examples": [e["id"] for e in examples],
        "caption_source": caption.source,
    }
    return {**row, **record}


def call_model(model: BaseChatModel, messages: list[BaseMessage], seed: int, settings: Settings) -> str:
    """The model's answer text, retrying transient faults as the dialogue path does; raises SynthError."""
    from agent.models.factories import diagnose, is_transient, retry_after
    from graphs.model_call import retry_delay

    for attempt in range(1, settings.llm_max_retries + 2):
        try:
            return model.invoke(messages, seed=seed, temperature=settings.synth_temperature).text
        except Exception as exc:  # the boundary with the model server: classified, retried or reported
            if attempt <= settings.llm_max_retries and is_transient(exc):
                delay = retry_delay(attempt, retry_after(exc))
                logger.warning("synth model call failed (%s); retrying in %.2fs", type(exc).__name__, delay)
                time.sleep(delay)
                continue
            cause, advice = diagnose(exc, settings)
            raise SynthError(f"{cause}; {advice} (rows kept so far stay; rerun to resume)") from exc
    raise AssertionError("unreachable: the last attempt returns or raises")


def chat_model(settings: Settings) -> BaseChatModel:
    """The OpenAI-compatible client of the settings; the embedded policy cannot write data."""
    from agent.models.factories import openai_compatible

    if settings.llm == "local":
        raise SynthError("synth needs a served model: pass --llm http://HOST:PORT/v1 (the embedded policy writes none)")
    return openai_compatible(settings)


def read_rows(path: Path, task: SynthTask) -> list[dict[str, Any]]:
    """The rows of an earlier run's out file (none if it does not exist).

    A last line without its newline that starts a JSON object but does not parse is a row torn by a
    kill: it is cut off, but only once every other line has proved to be this task's row, so a file
    that is not ours is never changed.
    """
    if not path.exists():
        return []
    data = path.read_bytes()
    complete, _, torn = data.rpartition(b"\n")
    rows = [_row(path, number, line, task) for number, line in enumerate(complete.splitlines(), start=1)]
    last = len(complete.splitlines()) + 1
    if torn.strip():
        try:
            rows.append(_row(path, last, torn, task))
            path.write_bytes(data + b"\n")  # a whole row that only lacked its newline
        except SynthError:
            if not torn.startswith(b'{"'):
                raise  # not the start of a row we wrote: someone else's file
            path.write_bytes(complete + b"\n" if complete else b"")
    return [row for row in rows if row]


def _row(path: Path, number: int, line: bytes, task: SynthTask) -> dict[str, Any]:
    """One line of an out file as a row of ``task`` ({} for a blank line); refused naming the line."""
    if not line.strip():
        return {}
    try:
        row = safe_json.loads(line)
        task.key(row)
    except (ValueError, KeyError, TypeError) as exc:  # bad JSON or UTF-8, nesting too deep, not this task's row
        raise SynthError(
            f"{path}:{number}: not a row of this synth task ({type(exc).__name__}); pass a new --out file"
        ) from None
    return dict(row)
