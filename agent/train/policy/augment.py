"""The offline augmenter: real explicit instructions turned into vague requests, plus undo/redo/yes/no/chat turns.

Needs no model: each derived dialogue asks a vague form of a real instruction (the object, the
value or the change dropped; evaluative words; "can someone ..."), takes the original as the answer,
and then continues with a context turn (an acknowledgement, a rejection, undo by steps, redo, chat).
Deterministic for a seed; every row names the row it derives from and the transforms used.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from typing import Any

EVALUATIVE = (
    "make it better", "improve this", "can you make this look nicer?", "make it look good", "fix it",
    "enhance it please", "make it pop", "touch it up", "make it look professional", "can you make it awesome",
    "make this perfect for my profile", "do something cool with it", "make it more interesting",
    "help me make this picture better", "could you edit this?", "clean it up", "make it prettier",
    "clean up this old photo of my parents", "touch up this picture for me", "fix this photo", "enhance this image",
    "improve the quality of this shot", "have fun with this one", "do whatever you like with it", "work your magic",
    "make us look good in this one", "spruce it up a little", "make this look more presentable",
    "give this picture some love", "make it instagram worthy", "help me with this image", "improve this scan",
)  # fmt: skip
# Real posts wrap a request in a story and thanks ("my grandpa passed away last week. could someone ...? thanks!");
# both the vague and the explicit requests get them, so neither the story nor the thanks tells the act.
STORIES = (
    "", "", "", "[specific] ", "[request] ", "my grandpa passed away last week. ",
    "this is the only photo i have of us. ",
    "first time posting here! ", "took this on holiday last summer. ", "it's for my mom's birthday. ",
    "my friend sent me this. ", "long shot, but ", "quick one: ",
)  # fmt: skip
THANKS = ("", "", "", " thanks!", " thank you so much!", " thanks in advance", " any help is appreciated.")
ASKERS = ("can someone {}?", "could anyone {} please", "is anyone able to {}?", "please help me {}", "{}", "{} please")
ACKS = (
    "thanks", "looks good", "perfect", "that's correct", "seems right", "great, thank you", "yes that's it",
    "nice", "good job", "that works", "exactly what i wanted", "ok cool", "awesome thanks", "correct",
)  # fmt: skip
REJECTS = ("no", "no, that's wrong", "nope", "not what i meant", "that's not right", "i don't like it")
UNDOS = (
    ("undo", 1), ("undo that", 1), ("forget that", 1), ("go back", 1), ("revert that", 1),
    ("undo the last edit", 1), ("go back one step", 1), ("take that back", 1), ("scratch that", 1),
    ("i liked it better before", 1), ("undo the edit .", 1),
)  # fmt: skip
REDOS = ("redo", "put it back", "redo that", "bring it back", "actually redo it")
CHATS = ("hi", "hello", "bye", "thanks, bye", "what can you do?", "who are you?", "how does this work?", "goodbye")
YES_PENDING = ("yes", "go ahead", "ok do it", "sure", "yes please", "sounds good")
NO_PENDING = ("no", "cancel", "nope, don't", "no thanks", "never mind")
_VALUE = re.compile(r"\s+(?:to|by)(?: a value of)?\s+-?\d+(?:\.\d+)?\s*%?\s*\.?$|\s+-?\d+(?:\.\d+)?\s*%?\s*\.?$")
_OBJECT = re.compile(r"^(remove|erase|delete|get rid of|add|put|replace|change|blur|crop|recolor)\s+(.+)$")


def vague_forms(text: str) -> list[tuple[str, str]]:
    """(vague request, transform) pairs for one explicit instruction; evaluative ones always apply."""
    lowered = text.strip().rstrip(".!").lower()
    forms: list[tuple[str, str]] = []
    if (m := _VALUE.search(lowered)) and re.match(r"^(edit|change|set|modify|adjust|alter)\b", lowered):
        forms.append((lowered[: m.start()], "drop-value"))
    if m := _OBJECT.match(lowered):
        forms.append((f"{m.group(1)} something", "drop-object"))
        forms.append((f"{m.group(1)} it", "drop-object"))
    if re.match(r"^(change|edit|modify|adjust|alter)\s+the\s+\w+", lowered) and " to " in lowered:
        forms.append((lowered.split(" to ")[0], "drop-change"))
    if m := re.match(r"^(replace|change|swap)\s+(the\s+[a-z]+(?:\s+[a-z]+)?)\s+(with|to|for)\s+", lowered):
        forms.append((f"{m.group(1)} {m.group(2)} {m.group(3)} something else", "drop-fill"))
    if m := re.match(r"^(move|shift)\s+(the\s+[a-z]+)\b", lowered):
        forms.append((f"{m.group(1)} {m.group(2)} somewhere else", "drop-destination"))
    return forms


def wrapped(rng: random.Random, request: str) -> str:
    """A request in one of the askers' wrappers, sometimes inside a story and with thanks."""
    return rng.choice(STORIES) + rng.choice(ASKERS).format(request) + rng.choice(THANKS)


def derive(row: dict[str, Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    """Dialogues derived from the explicit edit turns of one corpus dialogue."""
    for index, turn in enumerate(row["turns"]):
        if turn["expect"] != "edit":
            continue
        forms = vague_forms(turn["user"])
        vague, transform = rng.choice(forms) if forms and rng.random() < 0.6 else (rng.choice(EVALUATIVE), "evaluative")
        vague = wrapped(rng, vague)
        # the same wrappers around the explicit answer, so that "can someone ..." tells nothing by itself
        explicit = wrapped(rng, turn["user"].rstrip(".?! "))
        turns: list[dict[str, Any]] = [{"user": vague, "expect": "clarify"}, {"user": explicit, "expect": "edit"}]
        kind = rng.randrange(6)
        if kind == 0:
            turns.append({"user": rng.choice(ACKS), "expect": "confirm_yes"})
        elif kind == 1:
            turns.append({"user": rng.choice(REJECTS), "expect": "confirm_no"})
        elif kind == 2:
            text, steps = rng.choice(UNDOS)
            turns.append({"user": text, "expect": "undo", "undo_steps": steps})
            if rng.random() < 0.5:
                turns.append({"user": rng.choice(REDOS), "expect": "redo"})
        elif kind == 3:
            turns.append({"user": rng.choice(CHATS), "expect": "chat"})
        confirm = kind == 4  # edits are proposed first: the next turn answers the proposal
        if confirm:
            turns.append({"user": rng.choice(YES_PENDING + NO_PENDING), "expect": ""})
            turns[-1]["expect"] = "confirm_yes" if turns[-1]["user"] in YES_PENDING else "confirm_no"
        yield {
            "id": f"{row['id']}~aug{index}",
            "derived_from": row["id"],
            "transform": transform + ("+confirm" if confirm else ""),
            "confirm": confirm,
            "source": row.get("source"),
            "turns": turns,
        }
        # the explicit request asked straight away, in the same wrappers: first turns are not all vague
        yield {
            "id": f"{row['id']}~ask{index}",
            "derived_from": row["id"],
            "transform": "asker",
            "confirm": False,
            "source": row.get("source"),
            "turns": [
                *([{"user": rng.choice(CHATS), "expect": "chat"}] if rng.random() < 0.2 else []),
                {"user": wrapped(rng, turn["user"].rstrip(".?! ")), "expect": "edit"},
            ],
        }


def augment(rows: Iterable[dict[str, Any]], seed: int = 0) -> list[dict[str, Any]]:
    """Derived dialogues for every corpus row; a row's depend only on the row and the seed."""
    return [d for row in rows for d in derive(row, random.Random(f"{seed}:{row['id']}"))]
