"""A request of several edits carried over its questions: the vague clause asked about, the others kept.

'make it brighter and rotate it': the rules ask which way (a question comes alone in its message, so
nothing runs yet) and the whole request waits. The answer completes the clause asked about ('90
degrees clockwise' -> 'rotate it 90 degrees clockwise'; an instruction of its own takes that clause's
place), and every clause then runs in the order the user said them; a second vague clause is asked
about in turn, the request still carried. Nothing is stored: the carried request is read back from
the user's messages since it was said (``Context.asked_chain``).
"""

from __future__ import annotations

from agent.policy.edits import clause_vagueness
from agent.policy.lexicon import match_cpu
from agent.policy.text import EDIT_VERB, clauses, clean_instruction
from agent.policy.vague import fold_answer


def parts(request: str) -> list[str]:
    """The request's clauses as instructions, empty ones left out."""
    return [p for p in (clean_instruction(c) for c in clauses(request)) if p]


def waiting(request: str) -> int | None:
    """Index of the vague clause of a request of several clauses (the first), None if it is not one."""
    found = parts(request)
    if len(found) < 2:
        return None
    return next((i for i, p in enumerate(found) if clause_vagueness(p) is not None), None)


def complete(request: str, answer: str) -> str | None:
    """``request`` with its first vague clause completed by ``answer``; None if it waits on nothing."""
    index = waiting(request)
    if index is None:
        return None
    found = parts(request)
    vague = clause_vagueness(found[index])
    said = clean_instruction(answer)
    if not said or vague is None:
        return None
    if EDIT_VERB.match(said) or match_cpu(said) is not None:
        found[index] = said  # the user stated the edit in full
    else:
        found[index] = fold_answer(vague, found[index], said)
    return "; ".join(found)


def carried(chain: list[str]) -> str | None:
    """The request of several clauses the latest question asked about, earlier answers folded in, if any."""
    request: str | None = None
    for text in chain:
        folded = complete(request, text) if request is not None else None
        request = folded if folded is not None else text
    return request if request is not None and waiting(request) is not None else None
