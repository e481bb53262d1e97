"""Recipe requests in the user's words: forget one earlier edit, or re-render from the original.

"forget the sepia but keep the rest", "drop the second edit" and "undo the blur only" name an edit
by what it did or by its place; "re-render from the original" asks for one edit from the upload.
The latest edit ("undo the last edit", "forget that") stays undo's (agent.policy.commands).
"""

from __future__ import annotations

import re
from typing import Any

from agent.policy.text import NUMBER_WORDS, clean_instruction, number_in

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
NOT_A_NAME = re.compile(
    r"\b(last|latest|previous|that|it|this|these|those|both|everything|all|them|undo|what|said|more)\b"
)


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
    words = re.sub(r"^(the|my|that|this|these|those)\b ?", "", words).strip()
    if not words or not names_an_edit(words) or NOT_A_NAME.search(words) or counted(words):
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


# Taking back edits by what they did: "undo the blur and the crop", "undo both", "take back these edits".
TAKE_BACK = re.compile(
    r"^(undo|forget|take back|revert|cancel|reverse|remove|drop|delete|discard|get rid of|take out|lose|ditch|"
    r"roll back|scratch) "
)
GROUP = re.compile(r"^(both( of (them|these|those))?|all (of )?(these|those|them)|"
                   r"(these|those|the) (two|three|four|\d+|both)|these|those|them)"
                   r"( (edits|changes|steps|ones|effects|filters|things))?( too| as well)?$")  # fmt: skip
DETERMINER = re.compile(r"^(the|my|that|this|these|those|both) ")
NAME_STOP = frozenset({"the", "a", "an", "edit", "change", "effect", "filter", "one", "my", "step", "too", "also"})


def take_back(text: str, applied: list[tuple[str, str]], last_turn: int) -> tuple[str, dict[str, Any]] | None:
    """The undo, forget or question a request to take back named edits means, or None (not such a request).

    ``applied``: (tool, instruction) of each edit on the path, oldest first; ``last_turn``: how many
    edits the previous turn applied. Edits named that are the most recent ones are an undo of that
    many steps; one named in the middle is a forget; a name that matches nothing gets a question.
    """
    clause = clean_instruction(text)
    verb = TAKE_BACK.match(clause)
    if verb is None or not applied:
        return None
    rest = ONLY.sub("", KEEP_REST.sub("", clause[verb.end() :])).strip()
    group = GROUP.match(rest)
    if group is not None:
        number = number_in(rest.replace("both", "two"))
        count = number if number is not None else 2 if "both" in rest else max(2, last_turn)
        return "undo", {"steps": max(1, min(count, len(applied)))}
    names = [n for n in re.split(r",? and |, |,? & ", rest) if n.strip()]
    if len(names) < 2 and (verb.group(1) not in ("undo", "forget", "take back", "revert") or ordinal(rest)):
        return None  # "remove the dog" is an edit; "drop the second edit" is recipe_request's
    if NOT_A_NAME.search(rest) or counted(NOUN.sub("", rest)) or not rest or not any(map(names_an_edit, names)):
        return None  # "undo that", "undo two steps", "revert everything, ...", "undo the edit": undo's
    positions = [matching(name, applied) for name in names]
    if any(p is None for p in positions):
        return "ask_clarification", which_edit(applied)
    found = sorted({p for p in positions if p is not None})
    if found == list(range(len(applied) - len(found) + 1, len(applied) + 1)):
        return "undo", {"steps": len(found)}
    if len(found) == 1:
        return "forget", {"edit": str(found[0])}
    return "ask_clarification", which_edit(applied, [applied[p - 1][1] for p in found])


def names_an_edit(name: str) -> bool:
    """Whether ``name`` has a word that could name an edit (not only 'the', 'edit', 'one' ...)."""
    return any(w not in NAME_STOP for w in re.findall(r"[a-z0-9]+", DETERMINER.sub("", name)))


def matching(name: str, applied: list[tuple[str, str]]) -> int | None:
    """The position (oldest = 1) of the latest applied edit whose instruction or tool has every word of ``name``."""
    words = [w for w in re.findall(r"[a-z0-9]+", DETERMINER.sub("", name)) if w not in NAME_STOP]
    if not words:
        return None
    for position in range(len(applied), 0, -1):
        tool, instruction = applied[position - 1]
        said = re.findall(r"[a-z0-9]+", f"{instruction} {tool.replace('_', ' ')}".lower())
        if all(any(s.startswith(w[:4]) for s in said) for w in words):  # "warmth" names "make it warmer"
            return position
    return None


def which_edit(applied: list[tuple[str, str]], among: list[str] | None = None) -> dict[str, Any]:
    """The question that asks which edit to take back, naming the applied ones (or the ones ``among``)."""
    if among:
        question = "Those aren't the latest edits, so I take them back one at a time: which one first?"
        return {"question": question, "options": [f"forget '{i}'" for i in among]}
    listed = "; ".join(f"{n}. {i}" for n, (_, i) in enumerate(applied, start=1))
    return {
        "question": f"Which edit should I take back? The edits are: {listed}.",
        "options": [f"undo '{applied[-1][1]}'", *(f"forget '{i}'" for _, i in applied[:-1])][:4],
    }
