"""Choosing the act model's regularisation and override margins by leave-one-source-out on the training sources.

The model overrides the rules' act only when its best act scores more than a margin above the
rules' vote (a log-odds margin, one per vote). Margins and the L2 strength ``C`` are chosen on the
sources trained on, never on a source being measured: each of them is held out in turn, the model
is fitted on the others (plus their derived dialogues) and scored on its real turns, and the choice
maximises the mean of accuracy and balanced accuracy pooled over those inner folds. That objective is
a sum over turns (each weighted by 1/N and by 1/(acts x turns of its act)), so the margin of each
vote can be chosen on its own turns exactly. Ties go to the larger margin (trust the rules) and to
the smaller ``C`` (stronger regularisation).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.policy.act_model import ActModel, override
from agent.policy.embedding import TokenTable
from agent.train.policy.examples import Example
from agent.train.policy.train import fit, matrix

GRID_C = (0.1, 0.3, 1.0)
NEVER = 1000.0  # a margin no score difference reaches: the rules' vote always stands
GRID_MARGIN = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, NEVER)
Sources = Mapping[str, tuple[Sequence[Example], Sequence[Example]]]  # source -> (real, derived) examples
Progress = Callable[[str], None]  # called once per fit, with what is being fitted ("C=0.3, without gier")


def fits_needed(sources: Sources, grid_c: Sequence[float]) -> int:
    """How many fits ``fit_chosen`` makes: one per C and held-out source with real turns, plus the final one."""
    held_out = sum(1 for real, _ in sources.values() if real) if len(sources) >= 2 else 0
    return len(grid_c) * held_out + 1


def no_progress(step: str) -> None:
    """The default: report nothing."""


@dataclass(frozen=True)
class Choice:
    """The regularisation and per-vote margins chosen, with the inner-fold objective that chose them."""

    c: float
    margins: dict[str, float]
    objective: float  # mean of accuracy and balanced accuracy over the inner folds (nan: nothing to choose on)
    inner_folds: int


def choose(
    sources: Sources,
    *,
    seed: int = 0,
    grid_c: Sequence[float] = GRID_C,
    kind: str = "linear",
    table: TokenTable | None = None,
    progress: Progress = no_progress,
) -> Choice:
    """C and margins by leave-one-source-out over ``sources`` (fewer than two: C = 1, margin 0)."""
    if len(sources) < 2:
        return Choice(1.0, {}, float("nan"), 0)
    best: Choice | None = None
    for c in grid_c:
        rows: list[tuple[Example, Any, tuple[str, ...]]] = []
        for held in sources:
            train = [e for name, (real, derived) in sources.items() if name != held for e in (*real, *derived)]
            test = list(sources[held][0])
            if not test:
                continue
            progress(f"C={c:g}, without {held}")
            model = fit(train, seed=seed, c=c, kind=kind, table=table)
            rows += [(e, row, model.acts) for e, row in zip(test, score_matrix(model, test), strict=True)]
        margins, objective = best_margins(rows)
        if best is None or objective > best.objective + 1e-12:
            best = Choice(c, margins, objective, len(sources))
    assert best is not None
    return best


def score_matrix(model: ActModel, examples: Sequence[Example]) -> Any:
    """Every act's score for every example (rows follow ``examples``)."""
    import numpy as np

    weight = model.meta["semantic"]["weight"] if model.table is not None else 0.0
    return np.asarray(model.score_rows(matrix(examples, model.table, weight)))


def best_margins(rows: Sequence[tuple[Example, Any, tuple[str, ...]]]) -> tuple[dict[str, float], float]:
    """The margin per vote maximising the weighted correct count, and the objective it reaches."""
    counts = Counter(e.act for e, _, _ in rows)
    if not rows:
        return {}, float("nan")

    def weight(act: str) -> float:
        return 0.5 / len(rows) + 0.5 / (len(counts) * counts[act])

    by_vote: dict[str, list[tuple[Example, Any, tuple[str, ...]]]] = defaultdict(list)
    total = sum(weight(e.act) for e, _, _ in rows if e.kept and e.vote == e.act)
    for row in rows:
        if not row[0].kept:
            by_vote[row[0].vote].append(row)
    margins: dict[str, float] = {}
    for vote, group in sorted(by_vote.items()):
        gains = [
            (sum(weight(e.act) for e, s, acts in group if override(s, acts, vote, m) == e.act), m) for m in GRID_MARGIN
        ]
        gain, margin = max(gains, key=lambda g: (round(g[0], 12), g[1]))
        margins[vote] = margin
        total += gain
    return margins, total


def fit_chosen(
    sources: Sources,
    *,
    seed: int = 0,
    grid_c: Sequence[float] = GRID_C,
    kind: str = "linear",
    table: TokenTable | None = None,
    progress: Progress = no_progress,
) -> ActModel:
    """The model fitted on every source with the C and margins chosen by leave-one-source-out over them.

    ``progress`` is called before each of the ``fits_needed(sources, grid_c)`` fits.
    """
    choice = choose(sources, seed=seed, grid_c=grid_c, kind=kind, table=table, progress=progress)
    examples = [e for real, derived in sources.values() for e in (*real, *derived)]
    progress(f"C={choice.c:g}, every source")
    model = fit(examples, seed=seed, c=choice.c, kind=kind, table=table)
    meta = {**model.meta, "margins": choice.margins, "selection": selection_meta(choice, sources, grid_c)}
    return dataclasses.replace(model, meta=meta)


def selection_meta(choice: Choice, sources: Sources, grid_c: Sequence[float]) -> dict[str, Any]:
    """How the C and margins were chosen, for the model's metadata."""
    objective = None if choice.objective != choice.objective else round(choice.objective, 4)
    return {"inner_folds": sorted(sources), "objective": objective, "grid_c": list(grid_c)}
