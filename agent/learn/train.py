"""Fitting the act model (scikit-learn, the ``learn`` extra) and reading the corpus it is fitted on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.learn.augment import augment
from agent.learn.examples import Example, all_examples
from agent.policy.act_model import ACTS, ActModel
from agent.policy.features import N_FEATURES
from tools.errors import DialogPaintError


class CorpusError(DialogPaintError, ValueError):
    """A corpus file that cannot be trained on; the message names the file and line."""


def read_dialogues(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Every dialogue of the given JSONL files (folders: their *.jsonl), in order, each line checked."""
    files = [f for p in paths for f in (sorted(p.glob("*.jsonl")) if p.is_dir() else [p])]
    dialogues: list[dict[str, Any]] = []
    for path in files:
        if not path.is_file():
            raise CorpusError(f"no corpus file at {path}")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                dialogues.append(checked(path, number, line))
    if not dialogues:
        raise CorpusError(f"no dialogues in {', '.join(map(str, paths))} (expected JSONL files in the eval format)")
    return dialogues


def checked(path: Path, number: int, line: str) -> dict[str, Any]:
    """One dialogue line, refused with its file and line unless every turn has a user text and a known act."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{path}:{number}: not JSON ({exc.msg})") from None
    turns = row.get("turns") if isinstance(row, dict) else None
    if not isinstance(turns, list) or not turns or "id" not in row:
        raise CorpusError(f"{path}:{number}: a dialogue needs an id and a non-empty list of turns")
    for turn in turns:
        if not isinstance(turn, dict) or not str(turn.get("user", "")).strip() or turn.get("expect") not in ACTS:
            raise CorpusError(f"{path}:{number}: each turn needs a user text and expect in {', '.join(ACTS)}")
    return dict(row)


def training_examples(dialogues: Sequence[dict[str, Any]], seed: int) -> list[Example]:
    """The dialogues' own examples plus those of the augmenter's derived dialogues."""
    return all_examples([*dialogues, *augment(dialogues, seed=seed)])


def matrix(examples: Sequence[Example]) -> Any:
    """The examples' features as a sparse count matrix."""
    from scipy.sparse import csr_matrix

    indptr, indices = [0], []
    for example in examples:
        indices.extend(example.features)
        indptr.append(len(indices))
    data = [1.0] * len(indices)
    return csr_matrix((data, indices, indptr), shape=(len(examples), N_FEATURES))


def fit(examples: Sequence[Example], *, seed: int = 0, c: float = 1.0, margin: float = 0.0) -> ActModel:
    """A class-balanced multinomial logistic regression; deterministic (lbfgs, fixed order)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    labels = [e.act for e in examples]
    present = [a for a in ACTS if a in set(labels)]
    model = LogisticRegression(C=c, max_iter=300, class_weight="balanced", random_state=seed)
    model.fit(matrix(examples), labels)
    order = [list(model.classes_).index(a) for a in present]
    weights = np.asarray(model.coef_, dtype=np.float32)[order].T
    bias = np.asarray(model.intercept_, dtype=np.float32)[order]
    if len(present) == 2:  # sklearn keeps one row for two classes
        row = np.asarray(model.coef_[0], dtype=np.float32)
        weights = (np.stack([-row, row], axis=1) / 2).astype(np.float32)
        bias = np.array([-1.0, 1.0], dtype=np.float32) * np.float32(model.intercept_[0] / 2)
    meta = {
        "examples": len(examples),
        "seed": seed,
        "C": c,
        "margin": margin,
        "counts": {a: labels.count(a) for a in present},
    }
    return ActModel(weights, bias, tuple(present), meta)
