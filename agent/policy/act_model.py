"""The learned dialogue-act model over hashed features (linear, or one hidden ReLU layer), inference with numpy only.

The weights ship as package data (``act_model.npz``, written by ``dialogpaint train-policy``); a
decision is one gather-and-sum over a few hundred rows of the first weight matrix, plus for the
hidden-layer model one small matrix product (well under a millisecond). A model trained with
semantic features (``meta['semantic']``) has ``dim`` more rows after the hashed ones, read by the
message's sentence vector from the token-vector table it names by digest (``embedding.py``).
Training lives in ``agent.train.policy`` (scikit-learn, the ``learn`` extra).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from agent.policy.embedding import TokenTable, shipped_table
from agent.policy.features import N_FEATURES, Features

ACTS: tuple[str, ...] = ("edit", "clarify", "undo", "redo", "confirm_yes", "confirm_no", "chat")
SHIPPED = Path(__file__).with_name("act_model.npz")


@dataclass(frozen=True)
class ActModel:
    """Weights (features x acts, or features x hidden units), biases and the act names, as numpy arrays."""

    weights: Any  # numpy float array, shape (N_FEATURES, len(acts)) or (N_FEATURES, hidden)
    bias: Any  # numpy float array, shape (len(acts),) or (hidden,)
    acts: tuple[str, ...]
    meta: dict[str, Any]
    output: Any = None  # the hidden-layer model's (hidden, len(acts)) matrix; None for the linear model
    output_bias: Any = None
    table: TokenTable | None = None  # the token vectors of a model with semantic features

    def scores(self, features: Features | list[int]) -> Any:
        """The score (log-odds up to a constant) of every act for one decision's features."""
        indices = features.indices if isinstance(features, Features) else features
        first = self.weights[indices].sum(axis=0, dtype="float32") + self.bias
        if self.table is not None:
            text = features.text if isinstance(features, Features) else ""
            first = first + semantic_vector(self.table, text, self.meta) @ self.weights[N_FEATURES:]
        if self.output is None:
            return first
        return (first * (first > 0)) @ self.output + self.output_bias

    def score_rows(self, rows: Any) -> Any:
        """Scores of many decisions at once (``rows``: a sparse count matrix, one row per decision)."""
        first = rows @ self.weights + self.bias
        if self.output is None:
            return first
        return (first * (first > 0)) @ self.output + self.output_bias

    def predict(self, features: Features | list[int]) -> str:
        """The act with the highest score."""
        return self.acts[int(self.scores(features).argmax())]

    def decide(self, features: Features | list[int], vote: str) -> str:
        """The best act, unless the rules' vote scores within its margin of it (then the vote)."""
        return override(self.scores(features), self.acts, vote, self.margin(vote))

    def margin(self, vote: str) -> float:
        """How far the best act must score above the rules' vote to override it (``meta['margins']``)."""
        return float(self.meta.get("margins", {}).get(vote, self.meta.get("margin", 0.0)))

    def save(self, path: Path) -> None:
        """Write the model as a compressed .npz (float16 weights: a few MB)."""
        import numpy as np

        arrays: dict[str, Any] = {
            "weights": np.asarray(self.weights, dtype=np.float16),
            "bias": np.asarray(self.bias, dtype=np.float32),
            "acts": np.array(self.acts),
            "meta": np.array(json.dumps(self.meta, sort_keys=True)),
        }
        if self.output is not None:
            arrays |= {"output": np.asarray(self.output, np.float32), "output_bias": np.asarray(self.output_bias)}
        np.savez_compressed(path, **arrays)


def semantic_vector(table: TokenTable, text: str, meta: dict[str, Any]) -> Any:
    """The message's sentence vector times the weight the model was trained with (``meta['semantic']``)."""
    return table.embed(text) * float(meta["semantic"]["weight"])


def override(scores: Any, acts: tuple[str, ...], vote: str, margin: float) -> str:
    """The best-scoring act if it beats the rules' vote by more than ``margin``, else the vote."""
    best = int(scores.argmax())
    if vote in acts and scores[best] - scores[acts.index(vote)] <= margin:
        return vote
    return acts[best]


def load(path: Path, table: TokenTable | None = None) -> ActModel:
    """Read a model written by ``ActModel.save``; a clear error if the file is not one.

    A model with semantic features needs the token table it was trained with (``table``, else the
    shipped one); a table with another digest is refused.
    """
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            acts = tuple(str(a) for a in data["acts"])
            hidden = [data[k] for k in ("output", "output_bias") if k in data.files]
            weights, meta = data["weights"].astype(np.float32), json.loads(str(data["meta"]))
            model = ActModel(weights, data["bias"], acts, meta, *hidden)
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{path} is not an act model written by `dialogpaint train-policy`: {exc}") from None
    if set(acts) - set(ACTS):
        raise ValueError(f"{path}: unknown acts {sorted(set(acts) - set(ACTS))}; known: {', '.join(ACTS)}")
    semantic = meta.get("semantic")
    if not semantic:
        return model
    table = table or shipped_table()
    if table is None or table.digest != semantic["table"]:
        found = f"table {table.digest}" if table else "no token table"
        raise ValueError(f"{path} was trained with token table {semantic['table']}, but {found} is available")
    if weights.shape[0] != N_FEATURES + table.dim:
        raise ValueError(f"{path}: {weights.shape[0]} weight rows, expected {N_FEATURES} + {table.dim}")
    return dataclasses.replace(model, table=table)


@lru_cache(maxsize=1)
def shipped() -> ActModel | None:
    """The model shipped with the package (None if the file is absent: the policy uses its rules alone)."""
    return load(SHIPPED) if SHIPPED.is_file() else None
