"""The objects an edit instruction points at, and names for several candidates by where they are.

"change the cat to a tiger" points at one cat ("the cat"); on a photo of two cats that is a guess.
These rules find such definite, unqualified phrases for the detector to look up, and name what it
found by position ("on the left", "in the middle", "second from the top"). A phrase already narrowed
("the left cat", "the cat on the right", "the cat in the box") or plural ("the cats") needs no
question. The object is the word after "the", with the colour and size words before it ("the black
cat" -> "black cat"): compound nouns keep only their first word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from tools.detect import Detection

EVERY = "every"  # the answer that means all of them
MAX_CANDIDATES = 6  # more than this are named by the six best scored
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


def wordset(text: str) -> frozenset[str]:
    """The words of ``text`` as a set (keeps the word lists below readable)."""
    return frozenset(text.split())


ADJECTIVES = wordset(
    "red orange yellow green blue purple pink brown black white gray grey golden silver dark light "
    "big small little large tiny huge tall short long old young wooden metal"
)
POSITION_WORDS = wordset(
    "left right middle center centre central top bottom upper lower front back first second third "
    "fourth fifth sixth last other leftmost rightmost nearest closest farthest furthest biggest "
    "smallest largest tallest shortest"
)
PLURAL_ONLY = wordset("people men women children feet teeth mice geese sheep fish clothes glasses pants")
NOT_OBJECTS = wordset(
    "image photo picture pic photograph background foreground scene whole entire rest colors colours color colour "
    "brightness contrast saturation exposure hue tone tones style lighting light mood sky weather season "
    "edges edge corners corner same original"
)
NUMBERS = wordset("one two three four five six seven eight nine ten both")
# Words after a phrase that narrow it down: "the cat in the box", "the dog that is sleeping". Not "with"
# or "by": "replace the dog with a cat" names the new thing, not which dog.
RELATION = re.compile(
    r"^(on|in|at|near|next|beside|behind|under|below|above|over|from|holding|wearing|"
    r"that|which|who|sitting|standing|lying|closest|nearest|furthest|farthest)\b"
    r"(?! (the|this) (image|photo|picture|pic|scene)\b)"
)
WORD = re.compile(r"[a-z][a-z'-]*")


class Referent(TypedDict):
    """An object the head image holds more than once, as asked about: the artifact of the question."""

    object: str  # the label the detector was given, e.g. "black cat"
    phrase: str  # the phrase of the instruction that names it, e.g. "the black cat"
    positions: list[str]  # one name per candidate, e.g. ["on the left", "on the right"]


@dataclass(frozen=True)
class Phrase:
    """A definite, unqualified phrase of an instruction and the object label it gives the detector."""

    text: str  # "the black cat"
    label: str  # "black cat"


def object_phrases(instruction: str) -> list[Phrase]:
    """The phrases of ``instruction`` that point at one object without saying which, in order."""
    text = instruction.lower()
    words = list(WORD.finditer(text))
    found: list[Phrase] = []
    for i, word in enumerate(words):
        if word.group(0) != "the":
            continue
        j = i + 1
        while j < len(words) - 1 and words[j].group(0) in ADJECTIVES:
            j += 1
        if j >= len(words):
            continue
        noun = words[j].group(0).removesuffix("'s")
        if noun in NOT_OBJECTS or noun in NUMBERS or noun in ADJECTIVES or noun in POSITION_WORDS or plural(noun):
            continue  # 'the left cat' stops at 'left': it names its cat already
        after = text[words[j].end() :].strip()
        if RELATION.match(after):
            continue
        label = " ".join([*(w.group(0) for w in words[i + 1 : j]), noun])
        end = words[j].end() - (len(words[j].group(0)) - len(noun))  # "the man's hat": the phrase is "the man"
        found.append(Phrase(text=text[word.start() : end], label=label))
    return found


def plural(noun: str) -> bool:
    """A rough test for a plural noun ('cats', 'people'); 'glass', 'bus' and 'iris' are singular."""
    return noun in PLURAL_ONLY or (noun.endswith("s") and not noun.endswith(("ss", "us", "is", "ous")))


def positions(found: Sequence[Detection], size: tuple[int, int]) -> list[str]:
    """A name for each detection by where it is, in the order of ``found``.

    Two or three are named along the axis they spread over ("on the left", "in the middle"); more by
    their region of the image ("at the top left") when no two share one, else by rank along that axis.
    """
    width, height = size
    xs = [d.center[0] / width for d in found]
    ys = [d.center[1] / height for d in found]
    across = max(xs) - min(xs) >= max(ys) - min(ys)
    if len(found) > 3:
        regions = [region(x, y) for x, y in zip(xs, ys, strict=True)]
        if len(set(regions)) == len(regions):
            return regions
    keys = xs if across else ys
    order = sorted(range(len(found)), key=keys.__getitem__)
    names = axis_names(len(found), across)
    named = [""] * len(found)
    for rank, index in enumerate(order):
        named[index] = names[rank]
    return named


def in_order(found: Sequence[Detection], size: tuple[int, int]) -> list[Detection]:
    """The detections as a person would list them: along the axis they spread over (two or three),
    else row by row (thirds of the height), left to right.
    """
    width, height = size
    if len(found) > 3:
        return sorted(found, key=lambda d: (min(2, int(3 * d.center[1] / height)), d.center[0]))
    xs = [d.center[0] / width for d in found]
    ys = [d.center[1] / height for d in found]
    across = max(xs) - min(xs) >= max(ys) - min(ys)
    return sorted(found, key=lambda d: d.center[0] if across else d.center[1])


def region(x: float, y: float) -> str:
    """The name of the ninth of the image that holds the point (x, y), in fractions of the image."""
    row = "top" if y < 1 / 3 else "bottom" if y > 2 / 3 else ""
    column = "left" if x < 1 / 3 else "right" if x > 2 / 3 else ""
    if row and column:
        return f"at the {row} {column}"
    if row:
        return f"at the {row}"
    return f"on the {column}" if column else "in the middle"


def axis_names(count: int, across: bool) -> list[str]:
    """Names for ``count`` objects sorted left to right (``across``) or top to bottom."""
    first = "left" if across else "top"
    ends = ("on the left", "on the right") if across else ("at the top", "at the bottom")
    if count == 2:
        return list(ends)
    if count == 3:
        return [ends[0], "in the middle", ends[1]]
    return [f"{ORDINALS[i]} from the {first}" for i in range(count)]


def candidates(found: Sequence[Detection], label: str) -> list[Detection]:
    """The detections of ``label``: the MAX_CANDIDATES best scored, best first."""
    same = sorted((d for d in found if d.label == label), key=lambda d: d.score, reverse=True)
    return same[:MAX_CANDIDATES]


def name_candidate(instruction: str, phrase: str, position: str) -> str:
    """The instruction with ``phrase`` narrowed to one candidate, or to all of them (``EVERY``)."""
    start = instruction.lower().find(phrase)
    if start < 0:
        return instruction
    end = start + len(phrase)
    named = f"every {phrase[len('the ') :]}" if position == EVERY else f"{instruction[start:end]} {position}"
    return instruction[:start] + named + instruction[end:]


def question(referent: Referent) -> str:
    """The question that names each candidate by position."""
    first, *others = referent["positions"]
    choices = [f"the {referent['object']} {first}", *(f"the one {p}" for p in others)]
    listed = ", ".join(choices[:-1]) + " or " + choices[-1]
    return f"I can see more than one {referent['object']}. Which do you mean: {listed}?"
