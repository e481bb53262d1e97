"""Folding the answer to "which cat: the one on the left or the one on the right?" into the edit it held up.

The question comes from the graph (graphs.nodes.disambiguate), which records the candidates on its
outcome. When the previous turn asked it and the user's message picks one candidate ("the left
one", "the second from the top", "both"), the held-up call is made again with its instruction
naming that candidate: "change the cat to a tiger" -> "change the cat on the left to a tiger".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, cast

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage

from agent.policy.commands import dialogue_act
from graphs.outcomes import outcome
from graphs.referents import EVERY, ORDINALS, Referent, name_candidate
from graphs.turn import previous_turn

SYNONYMS = {
    "left": r"left|leftmost",
    "right": r"right|rightmost",
    "middle": r"middle|center|centre|central",
    "top": r"top|upper|above|higher|highest",
    "bottom": r"bottom|lower|below|lowest",
}
ALL = re.compile(r"\b(both|all|every|each)\b")
DIGITS = ("1st", "2nd", "3rd", "4th", "5th", "6th")


def answer_referent(messages: Sequence[BaseMessage], text: str, queue: Callable[..., None]) -> bool:
    """Queue the held-up edit narrowed to the candidate ``text`` picks, if the previous turn asked which one.

    Args:
        text: the latest user message, normalised.
        queue: ``queue(name, **args)`` adds a tool call to the answer.

    Returns:
        Whether a call was queued (False: the message is not an answer to such a question).
    """
    if dialogue_act(text) is not None:  # "undo all of that", "thanks": not a pick
        return False
    turn = previous_turn(cast(Sequence[AnyMessage], messages))
    asked = next((o for m in reversed(turn) if (o := outcome(m)) is not None and "referent" in o), None)
    if asked is None or "instruction" not in asked or "tool" not in asked:
        return False
    position = picked(asked["referent"], text)
    if position is None:
        return False
    args = held_up_args(turn, asked["tool"], asked["instruction"])
    instruction = name_candidate(asked["instruction"], asked["referent"]["phrase"], position)
    queue(asked["tool"], **{**args, "instruction": instruction})
    return True


def picked(referent: Referent, text: str) -> str | None:
    """The position ``text`` picks among the referent's candidates (or EVERY), None if not exactly one."""
    if ALL.search(text):
        return EVERY
    names = referent["positions"]
    if re.search(r"\blast\b", text):
        return names[-1] if names[0].endswith(("from the left", "from the top")) else None
    matches = [name for name in names if mentions(name, text)]
    return matches[0] if len(matches) == 1 else None


def mentions(position: str, text: str) -> bool:
    """Whether ``text`` names ``position``: its ordinal ('second', '2nd') if it has one, else its direction."""
    words = position.split()
    if words[0] in ORDINALS:
        index = ORDINALS.index(words[0])
        return bool(re.search(rf"\b({words[0]}|{DIGITS[index]})\b", text))
    named = [w for w in words if w in SYNONYMS]  # "at the top left": top and left
    said = {w for w, pattern in SYNONYMS.items() if re.search(rf"\b({pattern})\b", text)}
    return set(named) == said


def held_up_args(turn: Sequence[BaseMessage], tool: str, instruction: str) -> dict[str, Any]:
    """The arguments of the call that was held up, so its other parameters are kept."""
    for message in turn:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call["name"] == tool and call["args"].get("instruction") == instruction:
                    return dict(call["args"])
    return {}
