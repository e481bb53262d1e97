"""A request of several edits carried over its questions: the vague clause asked about, the others kept.

'rotate it 90 degrees clockwise, fix it up and crop it to a square': the clauses said before the
first vague one run at once and the question about it closes the same reply ("Done: rotate it 90
degrees clockwise. What would you like me to change?"); the rest of the request waits. When the
vague clause comes first ('make it brighter' after 'rotate it and ...') nothing runs yet and the whole
request waits, so the edits keep the order the user said them in. The answer completes the clause
asked about ('90 degrees clockwise' -> 'rotate it 90 degrees clockwise'; an instruction of its own
takes that clause's place), and the waiting clauses then run in order; a second vague clause is asked
about in turn, the request still carried. Nothing is stored: the carried request is read back from
the user's messages since it was said (``Context.asked_chain``).
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.policy.context import Asked
from agent.policy.edits import Clause, read
from agent.policy.lexicon import match_cpu
from agent.policy.text import EDIT_VERB, clean_instruction
from agent.policy.vague import fold_answer


def parts(request: str) -> list[Clause]:
    """The request's clauses, empty ones left out, in the order they run (``edits.read``), each read once.

    A request asked about has no evaluative opening the edits after it spell out (``edits.specifics``):
    the edit loop would have run those edits and asked nothing.
    """
    return [c for c in read(request, said=False) if c.instruction]


def first_vague(found: list[Clause]) -> int | None:
    """Index of the first vague clause, None if every clause is explicit."""
    return next((i for i, c in enumerate(found) if c.vague is not None), None)


def waiting(request: str) -> int | None:
    """Index of the vague clause of a request of several clauses (the first), None if it is not one."""
    found = parts(request)
    return first_vague(found) if len(found) > 1 else None


def still_waiting(request: str) -> str:
    """What of ``request`` waits once the clauses before its first vague one ran: that clause and the rest."""
    found = parts(request)
    return "; ".join(c.instruction for c in found[first_vague(found) or 0 :])


def complete(request: str, answer: str) -> str | None:
    """``request`` with its first vague clause completed by ``answer``; None if it waits on nothing."""
    found = parts(request)
    index = first_vague(found)
    said = clean_instruction(answer)
    if index is None or not said or (vague := found[index].vague) is None:
        return None
    instructions = [c.instruction for c in found]
    if EDIT_VERB.match(said) or match_cpu(said) is not None:
        instructions[index] = said  # the user stated the edit in full
    else:
        instructions[index] = fold_answer(vague, instructions[index], said)
    return "; ".join(instructions)


def carried(chain: Sequence[Asked]) -> str | None:
    """The request of several clauses the latest question asked about, earlier answers folded in, if any.

    The clauses that already ran beside a question are left out: what is returned is what still waits.
    """
    request: str | None = None
    ran = False
    for asked in chain:
        folded = complete(request, asked.text) if request is not None else None
        request = folded if folded is not None else asked.text
        if asked.ran:
            request, ran = still_waiting(request), True
    if request is None:
        return None
    return request if (first_vague(parts(request)) if ran else waiting(request)) is not None else None
