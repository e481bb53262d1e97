"""The rule-based simulated user: it holds a hidden goal and answers what the agent did, deterministically.

Each turn it looks at what a user sees (the agent's reply, the proposal awaiting yes/no, the edits
on the current image's path) and answers by fixed rules, in this order:

1. the goal is on the image and nothing is pending: stop (success);
2. a proposal awaits yes/no: "yes" if every proposed edit does the next goal edits, in order (or in
   an order that gives the same picture: ``cases.commutes``), else a correction ("no, <the next goal
   edit>");
3. the image carries edits the goal does not want: ask to undo them ("undo that");
4. the agent asked a question before the edit the opening left vague was made: the missing piece if
   the question is about it, that edit stated explicitly if the question is generic (or the opening
   missed the operation), the goal's remaining edits if the opening missed nothing (the next one
   when they are stated over turns), and otherwise the opening again (the user does not answer what it
   was not missing; once earlier edits are on the image, the next goal edit instead);
5. anything else (a reply without an edit, a failed edit, the next edit of a goal of several): the
   next goal edit, stated explicitly.

The user reads the question's words as a person does (``question_kinds``); nothing else of the
agent's prose is read. ``Observation`` is the typed view the harness builds from the session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from agent.eval.simulate.cases import GoalEdit, PieceKind, SimCase, commutes, edit_matches

_ABOUT: dict[PieceKind, re.Pattern[str]] = {
    "object": re.compile(
        r"\b(which|what) (part|parts|object|area|region|thing|one|element|subject|item)\b|\bwhere\b|"
        r"\bspecific object\b|"
        r"\bwhat (should|shall|do you want|would you like) (i|me)?\s*(to )?(add|remove|erase|delete)\b"
    ),
    "value": re.compile(
        r"\b(which|what) (way|direction|colou?r|side|angle|size|value|amount|style|material|background|look)\b|"
        r"\bhow (much|many|far|big|small|strong|bright|dark)\b|\bup or down\b|\bbecome\b|\breplaced? with\b|"
        r"\b(clockwise|degrees|horizontal|vertical|horizontally|vertically)\b|\bcrop away\b"
    ),
    "operation": re.compile(
        r"\bwhat (would you like|do you want|should i (do|change)|kind of|sort of|type of)\b|\bhow would you like\b|"
        r"\b(be more specific|clarify|what you mean|what do you mean)\b|\bchange\?"
    ),
}


def question_kinds(question: str) -> set[PieceKind]:
    """The pieces a clarifying question asks about (empty: a question about nothing in particular)."""
    text = question.lower()
    return {kind for kind, pattern in _ABOUT.items() if pattern.search(text)}


@dataclass(frozen=True)
class Edit:
    """An edit as the user sees it: made (a revision on the image's path) or proposed (awaiting yes/no)."""

    tool: str | None
    params: dict[str, Any]
    instruction: str | None


@dataclass(frozen=True)
class Observation:
    """What the user sees after a turn: the reply, its question, the proposal, the image's edit path."""

    turn: int  # user messages sent so far
    action: str  # the reply's action (edit, clarify, confirm, undo, chat, ...)
    text: str  # the reply's text (a question when action is clarify)
    path: tuple[Edit, ...]  # the edits from the original to the current image, oldest first
    proposal: tuple[Edit, ...] = ()  # edits awaiting yes/no
    failed: bool = False  # the turn's action failed


def remaining(goal: list[GoalEdit], path: tuple[Edit, ...]) -> tuple[list[GoalEdit], int]:
    """(the goal edits still to make, in order; edits on the path the goal does not want).

    The path's edits meet the goal's in order, except that an edit may meet a later goal edit when it
    gives the same picture in either order with every goal edit it passes (``cases.commutes``: a
    crop made before the black and white the goal says first is the same picture).
    """
    rest = list(goal)
    for made, edit in enumerate(path):
        found = next(
            (
                k
                for k, wanted in enumerate(rest)
                if edit_matches(wanted, edit.tool, edit.params, edit.instruction)
                and all(commutes(edit.tool, edit.params, earlier.tool, earlier.params) for earlier in rest[:k])
            ),
            None,
        )
        if found is None:
            return rest, len(path) - made
        rest.pop(found)
    return rest, 0


def goal_progress(goal: list[GoalEdit], path: tuple[Edit, ...]) -> tuple[int, int]:
    """(goal edits the path has made, edits on it the goal does not want)."""
    rest, extra = remaining(goal, path)
    return len(goal) - len(rest), extra


def proposal_right(goal: list[GoalEdit], path: tuple[Edit, ...], proposal: tuple[Edit, ...]) -> bool:
    """Whether the proposed edits, made after the path, are goal edits still wanted and nothing else."""
    rest, extra = remaining(goal, path)
    after, more = remaining(goal, path + proposal)
    return bool(proposal) and extra == 0 and more == 0 and len(rest) - len(after) == len(proposal)


def stated(edits: list[GoalEdit]) -> str:
    """Edits said in one message, in order: 'A', 'A and B', 'A, B and C'."""
    return listing([e.instruction for e in edits])


def listing(said: list[str]) -> str:
    """Instructions as one message: 'A', 'A and B', 'A, B and C'."""
    return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]


def goal_reached(case: SimCase, seen: Observation) -> bool:
    """Whether the current image does what the goal says and nothing awaits an answer."""
    return not seen.proposal and goal_progress(case.goal, seen.path) == (len(case.goal), 0)


class SimulatedUser(Protocol):
    """Anything that plays the user: the rule-based user here, or a model (``agent.eval.simulate.llm_user``)."""

    def opening(self, case: SimCase) -> str:
        """The first message."""
        ...

    def respond(self, case: SimCase, seen: Observation) -> str:
        """The next message, given what the agent did (called only while the goal is not reached)."""
        ...


class RuleUser:
    """The deterministic rule-based user (the rules are in the module docstring)."""

    def opening(self, case: SimCase) -> str:
        """The case's opening, as derived by its rule."""
        return case.opening

    def respond(self, case: SimCase, seen: Observation) -> str:
        """The next message by the rules, in order."""
        rest, extra = remaining(case.goal, seen.path)
        wanted = rest[0] if rest else case.goal[-1]
        if seen.proposal:
            right = proposal_right(case.goal, seen.path, seen.proposal)
            return "yes" if right else f"no, {wanted.instruction}"
        if extra:
            return "undo that" if extra == 1 else f"undo the last {extra} edits"
        if seen.action == "clarify" and case.goal[case.asked_edit] in rest:
            return self.answer(case, seen.text, rest)
        return wanted.instruction

    def answer(self, case: SimCase, question: str, rest: list[GoalEdit] | None = None) -> str:
        """The answer to a clarifying question about the opening (``rest``: the goal edits still to make)."""
        rest = case.goal if rest is None else rest
        if case.missing is None:  # explicit: the rest of the goal again (one edit when stating them over turns)
            return stated(rest if case.rule == "explicit" else rest[:1])
        explicit = case.goal[case.asked_edit].instruction
        kinds = question_kinds(question)
        if case.missing.kind == "operation":
            return explicit
        if case.missing.kind in kinds:
            return case.missing.answer
        if not kinds or kinds == {"operation"}:
            return explicit
        return case.opening if len(rest) == len(case.goal) else rest[0].instruction
