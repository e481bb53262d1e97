"""Self-check of a generative edit: score it, retry below the thresholds with other seeds, keep the best.

The scores are the two InstructPix2Pix reports (Brooks et al., sec. 5.1): CLIP directional similarity
(does the image change go the way the instruction says?) and CLIP image similarity to the input
(is it still the same picture?). The graph gets only the scoring callable; the agent wires CLIP in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

from PIL import Image
from pydantic import BaseModel

SEED_STRIDE = 7919  # a retry's seed: the first seed plus a prime per attempt, so attempts replay too


class Attempt(TypedDict):
    """One rendering the self-check scored."""

    seed: int
    guidance_scale: float | None
    image_similarity: float
    directional_similarity: float
    passed: bool


class CheckRecord(TypedDict):
    """What the self-check did for one revision: every attempt, and whether the kept one passed."""

    passed: bool
    kept: int  # index of the attempt kept in ``attempts``
    attempts: list[Attempt]


Scorer = Callable[[Image.Image, Image.Image, str], tuple[float, float]]
"""(input, edited, instruction) -> (image similarity, directional similarity)."""


@dataclass(frozen=True)
class SelfCheck:
    """The scorer and the rules: thresholds, how many retries, how much s_T rises per retry."""

    score: Scorer
    min_image_similarity: float = 0.7
    min_directional_similarity: float = 0.1
    retries: int = 2
    guidance_step: float = 1.0  # added to s_T (guidance_scale) per retry, up to its limit; 0: keep it


def applies(check: SelfCheck | None, tool: Any) -> bool:
    """Whether ``tool``'s edits are self-checked: a check is configured and the tool is generative and seeded."""
    return check is not None and tool.capabilities.generative and "seed" in tool.Params.model_fields


def best_of(
    check: SelfCheck,
    run: Callable[[BaseModel, int], Image.Image],
    *,
    source: Image.Image,
    params: BaseModel,
    seed: int,
    instruction: str,
) -> tuple[Image.Image, BaseModel, int, CheckRecord]:
    """Run, score and retry until an attempt passes or the retries are spent; the passing (or best) one wins.

    Returns the kept image, its params and seed, and the record of all attempts.
    """
    attempts: list[Attempt] = []
    renders: list[tuple[Image.Image, BaseModel, int]] = []
    for number in range(check.retries + 1):
        tried, tried_seed = retry_params(check, params, number), (seed + number * SEED_STRIDE) % 2**32
        image = run(tried, tried_seed)
        similarity, direction = check.score(source, image, instruction)
        passed = similarity >= check.min_image_similarity and direction >= check.min_directional_similarity
        scale = getattr(tried, "guidance_scale", None)
        attempts.append(Attempt(seed=tried_seed, guidance_scale=scale, image_similarity=similarity,
                                directional_similarity=direction, passed=passed))  # fmt: skip
        renders.append((image, tried, tried_seed))
        if passed:
            break
    index = len(attempts) - 1 if attempts[-1]["passed"] else best_index(attempts)
    return *renders[index], CheckRecord(passed=attempts[index]["passed"], kept=index, attempts=attempts)


def retry_params(check: SelfCheck, params: BaseModel, number: int) -> BaseModel:
    """The params of attempt ``number``: s_T raised by ``guidance_step`` per retry, within its declared limit."""
    if number == 0 or not check.guidance_step or "guidance_scale" not in type(params).model_fields:
        return params
    field = type(params).model_fields["guidance_scale"]
    limit = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), None)
    raised = params.guidance_scale + number * check.guidance_step  # type: ignore[attr-defined]
    return params.model_copy(update={"guidance_scale": raised if limit is None else min(raised, limit)})


def better(one: Attempt, other: Attempt) -> bool:
    """Whether ``one`` follows the instruction more (directional first, then closeness to the input)."""
    return (one["directional_similarity"], one["image_similarity"]) > (
        other["directional_similarity"],
        other["image_similarity"],
    )


def best_index(attempts: list[Attempt]) -> int:
    """The index of the best attempt."""
    best = 0
    for index, attempt in enumerate(attempts):
        if better(attempt, attempts[best]):
            best = index
    return best
