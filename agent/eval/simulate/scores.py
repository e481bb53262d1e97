"""Scores of a simulated-user run: per opening rule and overall, for each agent.

Definitions (the report repeats them):
- success: the goal is on the final image (exact recipe for CPU tools; the executed instruction holds
  the goal's object and change for the generative editor) within the turn limit;
- success within 3 turns: the same, with at most three user messages;
- mean turns to success: over the cases that succeeded;
- questions: clarifying questions per case; unneeded questions: questions asked although the opening
  was explicit (all edits in one message, or stated one a turn); ask rate on explicit openings: the
  share of those cases with at least one question;
- proposals: edits proposed for a yes/no first (the confirmation policy), per case;
- CLIP directional similarity (with --clip-path): of each generative success, between the original and
  the final image and the captions "a picture" and that caption with the goal's edits applied;
- wrong edits and undos: edits applied that the goal does not want, and the user's requests to undo them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.eval.simulate.cases import EXPLICIT, RULES
from agent.eval.simulate.harness import CaseResult

WITHIN = 3


def summarise(results: Sequence[CaseResult]) -> dict[str, Any]:
    """The scores of one group of cases."""
    n = len(results)
    if n == 0:
        return {"cases": 0}
    done = [r.turns for r in results if r.success]
    explicit = [r for r in results if r.case.rule in EXPLICIT]
    return {
        "cases": n,
        "success_rate": _rate(len(done), n),
        "success_within_3": _rate(sum(t <= WITHIN for t in done), n),
        "mean_turns_to_success": round(sum(done) / len(done), 4) if done else None,
        "questions_per_case": _rate(sum(r.questions for r in results), n),
        "proposals_per_case": _rate(sum(r.proposals for r in results), n),
        "unneeded_questions": sum(r.unneeded_questions for r in results),
        "ask_rate_explicit": _rate(sum(r.questions > 0 for r in explicit), len(explicit)) if explicit else None,
        "wrong_edits_per_case": _rate(sum(r.wrong_edits for r in results), n),
        "undos_per_case": _rate(sum(r.undos for r in results), n),
        "failed_edits": sum(r.failed_edits for r in results),
        "clip_directional_mean": _mean([r.clip[1] for r in results if r.clip is not None]),
    }


def scores(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Overall, per opening rule, apart for CPU-tool and generative goals, and for goals of one edit or several."""
    return {
        "overall": summarise(results),
        "by_rule": _by_rule(results),
        "by_editor": {
            "cpu": summarise([r for r in results if not r.case.generative]),
            "generative": summarise([r for r in results if r.case.generative]),
        },
        "by_goal": {
            "single": summarise([r for r in results if len(r.case.goal) == 1]),
            "multi": summarise([r for r in results if len(r.case.goal) > 1]),
        },
        "single_by_rule": _by_rule([r for r in results if len(r.case.goal) == 1]),
        "multi_by_rule": _by_rule([r for r in results if len(r.case.goal) > 1]),
    }


def _by_rule(results: Sequence[CaseResult]) -> dict[str, Any]:
    by_rule = {rule: summarise([r for r in results if r.case.rule == rule]) for rule in RULES}
    return {rule: s for rule, s in by_rule.items() if s["cases"]}


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 6) if values else None


def _rate(count: float, total: int) -> float:
    return round(count / total, 4)
