"""Play one simulated user through one session: turns, what each did, and how the case ended.

Read by ``agent.eval.simulate.run`` (every case for every agent) and scored by
``agent.eval.simulate.scores``. A case ends at the first turn after which the goal is on the image
with nothing pending (success, ``turns_to_success``), or after ``max_turns`` user messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from agent.eval.simulate.cases import EXPLICIT, GENERATIVE, SimCase
from agent.eval.simulate.user import Edit, Observation, SimulatedUser, goal_progress, goal_reached
from agent.session.reply import Reply
from agent.session.session import Session
from tools.base import EditTool

DEFAULT_MAX_TURNS = 6


@dataclass(frozen=True)
class CaseResult:
    """How one case went for one agent: the outcome, the counts and the transcript."""

    case: SimCase
    success: bool
    turns: int  # user messages sent
    questions: int  # replies that asked a clarifying question
    proposals: int  # replies that proposed an edit and waited for yes/no
    wrong_edits: int  # edits applied that the goal does not want
    undos: int  # user messages that asked to take a wrong edit back
    failed_edits: int  # turns whose edit failed (no revision)
    transcript: list[dict[str, Any]]
    clip: tuple[float, float] | None = None  # generative success: CLIP image and directional similarity

    @property
    def turns_to_success(self) -> int | None:
        """The turn count when the goal was reached; None when it was not."""
        return self.turns if self.success else None

    @property
    def unneeded_questions(self) -> int:
        """Questions asked although the opening was explicit."""
        return self.questions if self.case.rule in EXPLICIT else 0

    def record(self) -> dict[str, Any]:
        """The case as one JSON-ready row of results.jsonl."""
        return {
            "case": self.case.id, "rule": self.case.rule, "generative": self.case.generative,
            "tools": [g.tool for g in self.case.goal], "goal_edits": len(self.case.goal), "success": self.success,
            "turns": self.turns,
            "turns_to_success": self.turns_to_success, "questions": self.questions,
            "proposals": self.proposals, "unneeded_questions": self.unneeded_questions,
            "wrong_edits": self.wrong_edits, "undos": self.undos,
            "failed_edits": self.failed_edits, "transcript": self.transcript,
            "clip_image_similarity": self.clip and round(self.clip[0], 6),
            "clip_directional_similarity": self.clip and round(self.clip[1], 6),
        }  # fmt: skip


def run_case(
    session: Session, case: SimCase, user: SimulatedUser, tools: Mapping[str, EditTool], max_turns: int
) -> CaseResult:
    """Send the user's messages until the goal is reached or ``max_turns`` messages were sent."""
    message = user.opening(case)
    questions = proposals = wrong = undos = failed = 0
    transcript: list[dict[str, Any]] = []
    extra_before = 0
    for turn in range(1, max_turns + 1):
        undos += "undo" in message.lower()
        reply = session.send(message)
        seen = observe(session, reply, turn, tools)
        _, extra = goal_progress(case.goal, seen.path)
        wrong += max(0, extra - extra_before) if "edit" in reply.actions else 0
        extra_before = extra
        questions += reply.action == "clarify"
        proposals += reply.action == "confirm"
        failed += seen.failed
        transcript.append({
            "user": message, "action": reply.action, "tool": reply.tool, "instruction": reply.instruction,
            "reply": reply.text, "edits_on_image": len(seen.path),
        })  # fmt: skip
        if goal_reached(case, seen):
            return CaseResult(case, True, turn, questions, proposals, wrong, undos, failed, transcript)
        if turn < max_turns:
            message = user.respond(case, seen)
    return CaseResult(case, False, max_turns, questions, proposals, wrong, undos, failed, transcript)


def observe(session: Session, reply: Reply, turn: int, tools: Mapping[str, EditTool]) -> Observation:
    """What the user sees after a turn, as typed data: the image's edit path and the proposal, if any."""
    path = tuple(
        Edit(r["tool"], dict(r["params"]), r["instruction"]) for r in session.path()[1:] if r["tool"] is not None
    )
    proposal: tuple[Edit, ...] = ()
    if reply.confirmation is not None:
        proposal = tuple(
            Edit(e["name"], proposed_params(tools, e["name"], e["args"]), e["args"].get("instruction"))
            for e in reply.confirmation["edits"]
        )
    return Observation(turn, reply.action, reply.text, path, proposal, failed="failed" in reply.actions)


def proposed_params(tools: Mapping[str, EditTool], name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """A proposed call's arguments with the tool's defaults filled in, as the edit would record them."""
    params = {k: v for k, v in args.items() if k != "instruction" or name == GENERATIVE}
    tool = tools.get(name)
    if tool is None:
        return params
    try:
        model: BaseModel = tool.Params.model_validate({k: v for k, v in params.items() if k != "instruction"})
    except ValidationError:
        return params  # a proposal the tool would refuse: compared as it stands
    return {**params, **model.model_dump()}
