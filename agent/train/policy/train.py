"""Fitting the act model (scikit-learn, the ``learn`` extra) and reading the corpus it is fitted on."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from agent.policy.act_model import ACTS, ActModel
from agent.policy.embedding import TokenTable
from agent.policy.features import N_FEATURES
from agent.train.policy.augment import augment
from agent.train.policy.examples import Example, all_examples, source_of
from tools import safe_json
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
        for number, line in enumerate(safe_json.read_utf8(path).splitlines(), start=1):
            if line.strip():
                dialogues.append(checked(path, number, line))
    if not dialogues:
        raise CorpusError(f"no dialogues in {', '.join(map(str, paths))} (expected JSONL files in the eval format)")
    return dialogues


def checked(path: Path, number: int, line: str) -> dict[str, Any]:
    """One dialogue line, refused with its file and line unless every turn has a user text and a known act."""
    try:
        row = safe_json.loads(line)
    except ValueError as exc:
        raise CorpusError(f"{path}:{number}: not JSON ({getattr(exc, 'msg', exc)})") from None
    turns = row.get("turns") if isinstance(row, dict) else None
    if not isinstance(turns, list) or not turns or "id" not in row:
        raise CorpusError(f"{path}:{number}: a dialogue needs an id and a non-empty list of turns")
    for turn in turns:
        if not isinstance(turn, dict) or not str(turn.get("user", "")).strip() or turn.get("expect") not in ACTS:
            raise CorpusError(f"{path}:{number}: each turn needs a user text and expect in {', '.join(ACTS)}")
    return dict(row)


def by_source(dialogues: Sequence[dict[str, Any]], seed: int) -> dict[str, tuple[list[Example], list[Example]]]:
    """Per source: the examples of its own dialogues and those of the augmenter's dialogues derived from them."""
    found: dict[str, tuple[list[Example], list[Example]]] = {}
    for dialogue in dialogues:
        real, derived = found.setdefault(source_of(dialogue), ([], []))
        real.extend(all_examples([dialogue]))
        derived.extend(all_examples(augment([dialogue], seed=seed)))
    return found


SEMANTIC_WEIGHT = 4.0  # the sentence vector's length among the hashed counts (like the rules' vote, ``VOTE_WEIGHT``)


def matrix(examples: Sequence[Example], table: TokenTable | None = None, weight: float = SEMANTIC_WEIGHT) -> Any:
    """The examples' features as a sparse count matrix; with a table, each message's sentence vector after them."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack

    indptr, indices = [0], []
    for example in examples:
        indices.extend(example.features.indices)
        indptr.append(len(indices))
    data = [1.0] * len(indices)
    counts = csr_matrix((data, indices, indptr), shape=(len(examples), N_FEATURES))
    if table is None:
        return counts
    dense = np.stack([sentence(table, e.features.text) for e in examples]) * weight
    return hstack([counts, csr_matrix(dense)], format="csr")


@lru_cache(maxsize=200_000)
def sentence(table: TokenTable, text: str) -> Any:
    """A message's sentence vector (cached: the same texts recur across folds and fits)."""
    return table.embed(text)


KINDS = ("linear", "mlp")
HIDDEN = 32  # units of the hidden-layer model


def fit(
    examples: Sequence[Example],
    *,
    seed: int = 0,
    c: float = 1.0,
    margin: float = 0.0,
    kind: str = "linear",
    table: TokenTable | None = None,
) -> ActModel:
    """A class-balanced act model: multinomial logistic regression, or one hidden ReLU layer (``kind='mlp'``).

    With a token table the messages' sentence vectors are features too (``meta['semantic']`` names
    the table by digest). Deterministic for a seed (lbfgs in a fixed order; the MLP's seeded
    initialisation and shuffles).
    """
    labels = [e.act for e in examples]
    present = [a for a in ACTS if a in set(labels)]
    meta = {
        "examples": len(examples),
        "seed": seed,
        "C": c,
        "margin": margin,
        "kind": kind,
        "counts": {a: labels.count(a) for a in present},
    }
    if table is not None:
        meta["semantic"] = {"table": table.digest, "dim": table.dim, "weight": SEMANTIC_WEIGHT}
    inputs = matrix(examples, table)
    if kind == "mlp":
        return fit_mlp(inputs, labels, present, meta, table)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=300, class_weight="balanced", random_state=seed)
    model.fit(inputs, labels)
    weights, bias = output_layer(model.classes_, model.coef_.T, model.intercept_, present)
    return ActModel(weights, bias, tuple(present), meta, table=table)


def output_layer(classes: Any, weights: Any, bias: Any, present: Sequence[str]) -> tuple[Any, Any]:
    """(inputs x acts, acts) in the order of ``present``; sklearn keeps one column for two classes."""
    import numpy as np

    weights, bias = np.asarray(weights, dtype=np.float32), np.asarray(bias, dtype=np.float32)
    if len(present) == 2:
        return np.concatenate([-weights, weights], axis=1) / 2, np.concatenate([-bias, bias]) / 2
    order = [list(classes).index(a) for a in present]
    return weights[:, order], bias[order]


def fit_mlp(
    inputs: Any, labels: list[str], present: list[str], meta: dict[str, Any], table: TokenTable | None
) -> ActModel:
    """One hidden ReLU layer over the same hashed features; classes balanced by sample weights, L2 = 1e-3 / C."""
    import numpy as np
    from sklearn.neural_network import MLPClassifier

    counts = meta["counts"]
    balanced = np.array([len(labels) / (len(counts) * counts[a]) for a in labels])
    model = MLPClassifier(
        hidden_layer_sizes=(HIDDEN,), alpha=1e-3 / meta["C"], batch_size=256, max_iter=8, random_state=meta["seed"]
    )
    model.fit(inputs, labels, sample_weight=balanced)
    output, output_bias = output_layer(model.classes_, model.coefs_[1], model.intercepts_[1], present)
    first, first_bias = (np.asarray(a, dtype=np.float32) for a in (model.coefs_[0], model.intercepts_[0]))
    return ActModel(first, first_bias, tuple(present), meta, output, output_bias, table)
