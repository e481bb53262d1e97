"""Recipe requests in the user's words: forget one earlier edit, or re-render from the original.

"forget the sepia but keep the rest", "drop the second edit" and "undo the blur only" name an edit
by what it did or by its place; "re-render from the original" asks for one edit from the upload.
The latest edit ("undo the last edit", "forget that") stays undo's (agent.policy.commands).
"""

from __future__ import annotations

import re

from agent.policy.text import NUMBER_WORDS, clean_instruction

ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10,
}  # fmt: skip
RERENDER = re.compile(
    r"\b(re-?render|(redo|render|do|replay) (it |everything |them |the edits )?(all )?(again )?from "
    r"(the )?(original|upload|start|scratch))\b"
)
KEEP_REST = re.compile(
    r",? ?(but|and) keep (the rest|everything else|the others|all the rest|the other (edits|changes)|"
    r"the remaining ones)$"
)
ONLY = re.compile(r" (only|alone|on its own|and nothing else)$")
VERB = re.compile(r"^(forget|undo|drop|remove|delete|discard|lose|ditch|skip|take out|get rid of|leave out) ")
SOFT_VERBS = ("forget", "undo")  # these name an edit already made even without 'only' or 'keep the rest'
NOUN = re.compile(r" (edit|change|step|effect|filter|one|adjustment)s?$")
ORDINAL = re.compile(rf"^(the )?(?P<n>{'|'.join(ORDINALS)}|\d+(st|nd|rd|th)?) (edit|change|step|one)$")
NUMBERED = re.compile(r"^(edit|change|step) (number )?(?P<n>\d+)$")
NOT_A_NAME = re.compile(r"\b(last|latest|previous|that|it|this|everything|all|them|undo|what|said|more)\b")


def recipe_request(text: str) -> tuple[str, dict[str, str]] | None:
    """The forget or rerender call a normalised message asks for, or None."""
    if RERENDER.search(text):
        return "rerender", {}
    clause = clean_instruction(text)
    verb = VERB.match(clause)
    if verb is None:
        return None
    rest, marked = KEEP_REST.sub("", clause[verb.end() :]), bool(KEEP_REST.search(clause))
    rest, only = ONLY.sub("", rest), bool(ONLY.search(rest))
    position = ordinal(rest)
    if position is not None:
        return "forget", {"edit": str(position)}
    words, named = NOUN.sub("", rest), bool(NOUN.search(rest))
    words = re.sub(r"^(the|my|that|this) ", "", words).strip()
    if not words or NOT_A_NAME.search(words) or counted(words):
        return None  # the latest edits, or a count of them ("undo two steps"): undo's
    if marked or only or verb.group(1) in SOFT_VERBS or named:
        return "forget", {"edit": words}
    return None  # "remove the dog" is an edit request, not a forget


def counted(words: str) -> bool:
    """Whether the words are only a count ('2', 'two', 'twice', 'a couple'), as in 'undo two steps'."""
    return all(w.isdigit() or w in NUMBER_WORDS or w in ("of", "times", "time", "once") for w in words.split())


def ordinal(text: str) -> int | None:
    """The position an ordinal phrase names ('the second edit', 'the 3rd one', 'edit 2'), or None."""
    found = ORDINAL.match(text) or NUMBERED.match(text)
    if found is None:
        return None
    word = found.group("n")
    return ORDINALS.get(word) or int(re.sub(r"\D", "", word))
