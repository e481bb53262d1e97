"""The act model's input: hashed word and character n-grams of the message, the dialogue context, the rules' vote.

A decision's ``Features`` are those hashed indices plus the message itself, from which a model
trained with a token-vector table (``embedding.py``) also reads the message's sentence vector.

Features are indices into a fixed-size vector (the hashing trick, so the weights stay a few MB and
no vocabulary ships); ``zlib.crc32`` keeps them identical across processes and machines. Context
flags are crossed with the first words and with the rules' vote, so a linear model can tell "yes"
after a proposal from "yes" out of the blue.
"""

from __future__ import annotations

import itertools
import re
import zlib
from dataclasses import dataclass

N_FEATURES = 1 << 16
# The rules' vote counts this many times: under L2 a strong feature is cheap to rely on, so the
# model follows the rules unless the words give consistent evidence against them.
VOTE_WEIGHT = 4
_WORD = re.compile(r"[a-z0-9']+|[?!]")


@dataclass(frozen=True)
class Features:
    """One decision's input: hashed feature indices (duplicates count twice) and the normalised message."""

    indices: list[int]
    text: str = ""


@dataclass(frozen=True)
class ActContext:
    """The dialogue facts the act model reads besides the message."""

    asked: bool = False  # the last turn asked a clarifying question
    applied: bool = False  # the last turn applied an edit
    failed: bool = False  # the last turn tried an edit that was not applied
    pending: bool = False  # a proposed edit awaits a yes or no
    can_undo: bool = False  # at least one applied edit is on the path to the head

    def flags(self) -> list[str]:
        """The names of the facts that hold ("none" when none does)."""
        names = [n for n in ("asked", "applied", "failed", "pending", "can_undo") if getattr(self, n)]
        return names or ["none"]


def _index(feature: str) -> int:
    return zlib.crc32(feature.encode()) % N_FEATURES


def feature_names(text: str, context: ActContext, rule_act: str, signals: tuple[str, ...] = ()) -> list[str]:
    """Every feature of one decision, by name (``text`` is the normalised message)."""
    words = _WORD.findall(text)[:60]
    names = [f"w:{w}" for w in words]
    names += [f"b:{a}_{b}" for a, b in itertools.pairwise(words)]
    for word in words:
        padded = f" {word} "
        names += [f"c:{padded[i : i + n]}" for n in (3, 4) for i in range(len(padded) - n + 1)]
    names.append(f"len:{min(len(words), 12)}")
    head = " ".join(words[:3])
    names += [f"first:{words[0]}" if words else "first:", f"head:{head}"]
    names += [f"rule:{rule_act}"] * VOTE_WEIGHT + [f"sig:{s}" for s in signals]
    for flag in context.flags():
        names += [f"ctx:{flag}", *[f"ctx:{flag}|rule:{rule_act}"] * VOTE_WEIGHT, f"ctx:{flag}|head:{head}"]
        names += [f"ctx:{flag}|w:{w}" for w in words[:6]]
        names += [f"ctx:{flag}|sig:{s}" for s in signals]
    return names


def hashed(text: str, context: ActContext, rule_act: str, signals: tuple[str, ...] = ()) -> list[int]:
    """The feature indices of one decision (duplicates kept: they count as repeated occurrences)."""
    return [_index(name) for name in feature_names(text, context, rule_act, signals)]
