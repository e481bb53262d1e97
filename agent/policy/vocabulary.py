"""The words the CPU rules share: colours, words that name no target, hedges and intensifiers, and the
``Match`` a rule returns (``agent.policy.lexicon`` holds the rules for looks and tone,
``agent.policy.geometry`` those for rotate, flip, crop and resize).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

COLORS = {
    "red": "red", "orange": "orange", "yellow": "yellow", "green": "green", "blue": "blue",
    "purple": "purple", "violet": "violet", "pink": "pink", "magenta": "magenta", "cyan": "cyan",
    "teal": "teal", "turquoise": "turquoise", "brown": "brown", "gold": "gold", "golden": "gold",
    "silver": "silver", "beige": "beige", "navy": "navy", "maroon": "maroon", "lime": "lime",
    "olive": "olive", "indigo": "indigo", "lavender": "lavender", "crimson": "crimson",
    "amber": "orange", "coral": "coral", "peach": "peachpuff", "aqua": "aqua", "gray": "gray",
    "black": "black", "white": "white",
}  # fmt: skip
COLOR_FORMS = {
    "reddish": "red", "redder": "red", "bluish": "blue", "blueish": "blue", "bluer": "blue",
    "greenish": "green", "greener": "green", "yellowish": "yellow", "yellower": "yellow",
    "pinkish": "pink", "pinker": "pink", "purplish": "purple", "purpler": "purple",
    "orangey": "orange", "orangish": "orange", "brownish": "brown", "goldish": "gold",
}  # fmt: skip
COLOR_WORD = r"(?:" + "|".join(sorted([*COLORS, *COLOR_FORMS], key=len, reverse=True)) + r")"

# Words that never name a target: with them removed, anything left means a specific region/object.
GENERIC = set(
    [
        "make",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "the",
        "a",
        "an",
        "image",
        "whole",
        "entire",
        "overall",
        "everything",
        "all",
        "of",
        "more",
        "less",
        "bit",
        "little",
        "slightly",
        "much",
        "lot",
        "lots",
        "very",
        "really",
        "please",
        "can",
        "you",
        "could",
        "would",
        "just",
        "look",
        "looks",
        "looking",
        "seem",
        "appear",
        "be",
        "is",
        "are",
        "to",
        "and",
        "so",
        "too",
        "some",
        "somewhat",
        "tad",
        "touch",
        "way",
        "quite",
        "pretty",
        "kind",
        "sort",
        "up",
        "down",
        "by",
        "with",
        "for",
        "me",
        "again",
        "now",
        "effect",
        "filter",
        "style",
        "tone",
        "tones",
        "color",
        "colors",
        "give",
        "add",
        "apply",
        "put",
        "turn",
        "convert",
        "set",
        "increase",
        "decrease",
        "reduce",
        "boost",
        "raise",
        "lower",
        "higher",
        "lower",
        "bring",
        "go",
        "do",
        "get",
        "use",
        "want",
        "need",
        "like",
        "on",
        "in",
        "into",
        "as",
        "tiny",
        "small",
        "smaller",
        "large",
        "larger",
        "big",
        "bigger",
        "huge",
        "slight",
        "strong",
        "stronger",
        "heavy",
        "heavier",
        "light",
        "lighter",
        "mild",
        "subtle",
        "extra",
        "super",
        "extremely",
        "significantly",
        "dramatically",
        "heavily",
        "strongly",
        "noticeably",
        "somehow",
        "overall",
        "thing",
        "one",
        "version",
        "degrees",
        "degree",
        "percent",
        "%",
        "times",
        "x",
        "px",
        "pixels",
        "side",
        "sides",
        "amount",
        "level",
        "levels",
        "notch",
        "notches",
        "bunch",
        "while",
        "adjust",
        "change",
        "mode",
        "feel",
        "vibe",
        "feeling",
        "out",
        "off",
        "away",
        "from",
        "across",
        "over",
        "overall",
        "instead",
    ]
)

SMALL = re.compile(
    r"\b(a (little|tiny|small) bit|a (little|bit|tad|touch|smidge|notch)|slight(ly)?|somewhat|subtle|mild(ly)?|barely|gently)\b"  # noqa: E501
)
LARGE = re.compile(
    r"\b(much|a lot|lots|very|way|really|super|extremely|significantly|dramatically|heavily|strongly|a ton|hugely|massively|way more|a great deal)\b"  # noqa: E501
)


def degree(text: str, small: float, normal: float, large: float) -> float:
    """Pick a magnitude from hedges ('a bit') and intensifiers ('much')."""
    if SMALL.search(text):
        return small
    if LARGE.search(text):
        return large
    return normal


@dataclass(frozen=True)
class Match:
    """A CPU tool call found in a clause, with the words it accounts for."""

    tool: str
    args: dict[str, Any]
    spans: tuple[tuple[int, int], ...]  # character spans of the keywords matched


Rule = Callable[[str], Match | None]


def keyword_rule(tool: str, pattern: str, scaled: tuple[str, float, float, float] | None = None) -> Rule:
    """A rule that calls ``tool`` when ``pattern`` matches, with one param scaled by hedges if given."""

    def rule(text: str) -> Match | None:
        m = re.search(pattern, text)
        if not m:
            return None
        args = {} if scaled is None else {scaled[0]: degree(text, *scaled[1:])}
        return Match(tool, args, (m.span(),))

    rule.__name__ = tool
    return rule
