"""The learned dialogue-act model: a linear model over hashed features, inference with numpy only.

The weights ship as package data (``act_model.npz``, written by ``dialogpaint train-policy``); a
decision is one gather-and-sum over a few hundred rows of the weight matrix (well under a
millisecond). Training lives in ``agent.learn`` (scikit-learn, the ``learn`` extra).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ACTS: tuple[str, ...] = ("edit", "clarify", "undo", "redo", "confirm_yes", "confirm_no", "chat")
SHIPPED = Path(__file__).with_name("act_model.npz")


@dataclass(frozen=True)
class ActModel:
    """Weights (features x acts), biases and the act names, as numpy arrays."""

    weights: Any  # numpy float array, shape (N_FEATURES, len(acts))
    bias: Any  # numpy float array, shape (len(acts),)
    acts: tuple[str, ...]
    meta: dict[str, Any]

    def scores(self, indices: list[int]) -> Any:
        """The score of every act for one decision's feature indices."""
        return self.weights[indices].sum(axis=0, dtype="float32") + self.bias

    def predict(self, indices: list[int]) -> str:
        """The act with the highest score."""
        return self.acts[int(self.scores(indices).argmax())]

    def decide(self, indices: list[int], vote: str) -> str:
        """The best act, unless the rules' vote scores within ``meta['margin']`` of it (then the vote)."""
        scores = self.scores(indices)
        best = int(scores.argmax())
        if vote in self.acts and scores[best] - scores[self.acts.index(vote)] <= float(self.meta.get("margin", 0.0)):
            return vote
        return self.acts[best]

    def save(self, path: Path) -> None:
        """Write the model as a compressed .npz (float16 weights: a few MB)."""
        import numpy as np

        np.savez_compressed(
            path,
            weights=np.asarray(self.weights, dtype=np.float16),
            bias=np.asarray(self.bias, dtype=np.float32),
            acts=np.array(self.acts),
            meta=np.array(json.dumps(self.meta, sort_keys=True)),
        )


def load(path: Path) -> ActModel:
    """Read a model written by ``ActModel.save``; a clear error if the file is not one."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            acts = tuple(str(a) for a in data["acts"])
            model = ActModel(data["weights"].astype(np.float32), data["bias"], acts, json.loads(str(data["meta"])))
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{path} is not an act model written by `dialogpaint train-policy`: {exc}") from None
    if set(acts) - set(ACTS):
        raise ValueError(f"{path}: unknown acts {sorted(set(acts) - set(ACTS))}; known: {', '.join(ACTS)}")
    return model


@lru_cache(maxsize=1)
def shipped() -> ActModel | None:
    """The model shipped with the package (None if the file is absent: the policy uses its rules alone)."""
    return load(SHIPPED) if SHIPPED.is_file() else None
