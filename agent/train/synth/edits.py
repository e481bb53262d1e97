"""Step 1 of make-pairs: from an image caption, an edit instruction and the caption of the edited image.

InstructPix2Pix (Brooks et al. 2023, section 3.1.1) fine-tuned GPT-3 on 700 hand-written
(caption, instruction, edited caption) triples and let it write the rest; here a served chat model
is shown k of the hand-written triples in data/seed_edits.jsonl instead (self-instruct), and every
answer is validated and deduplicated on its instruction before it is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.train.synth.captions import Caption, read_captions
from agent.train.synth.engine import Rejected, SynthError, SynthPlan, SynthReport, first_json_object, synthesize
from tools import safe_json
from tools.errors import brief_errors

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agent.settings import Settings

MAX_TEXT_CHARS = 200

HEAD = """You write training data for an image editor that follows instructions.
Given the caption of a photo, write one edit instruction a person could give for that photo, and the
caption of the photo after the edit. The instruction is short and imperative ("make it winter",
"add a hat to the dog", "turn the car red"); the edited caption is the original caption changed only
as the edit changes the photo. Vary the kind of edit: objects added, removed or replaced, colours,
materials, weather, season, time of day, art styles.
Answer with one JSON object and nothing else: {"instruction": "...", "edited_caption": "..."}"""


class EditTriple(BaseModel):
    """One (caption, instruction, edited caption) triple, as a seed or as a model's answer."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    caption: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    instruction: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    edited_caption: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


def normalised(text: str) -> str:
    """Lower case, words only: what two texts are compared by."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


class EditCaptionTask:
    """The edit-caption task for the self-instruct engine."""

    head = HEAD

    def example(self, seed: dict[str, Any]) -> str:
        """A seed triple as a caption line and the JSON answer."""
        answer = {"instruction": seed["instruction"], "edited_caption": seed["edited_caption"]}
        return f"Caption: {seed['caption']}\n{json.dumps(answer)}"

    def ask(self, caption: Caption) -> str:
        """The caption to write an edit for."""
        return f"Caption: {caption.text}\n"

    def parse(self, answer: str, caption: Caption, request: int) -> dict[str, Any]:
        """The triple of an answer; an empty, over-long or do-nothing edit is rejected as invalid."""
        value = first_json_object(answer)
        try:
            triple = EditTriple.model_validate({**value, "caption": caption.text})
        except ValidationError as exc:
            raise Rejected("invalid", brief_errors(exc, "answer", limit=1)) from None
        if normalised(triple.edited_caption) == normalised(triple.caption):
            raise Rejected("invalid", "the edited caption is the caption unchanged")
        if normalised(triple.instruction) == normalised(triple.caption):
            raise Rejected("invalid", "the instruction repeats the caption")
        return {**triple.model_dump(), "id": f"edit-{request}"}

    def key(self, row: dict[str, Any]) -> str:
        """Instructions are what must not repeat (the edited caption follows from them)."""
        return str(row["instruction"])


def read_seed_edits(path: str | Path) -> list[dict[str, Any]]:
    """The hand-written triples of a seed file (JSONL), each with an id; refused naming the line."""
    path = Path(path)
    if not path.is_file():
        raise SynthError(f"no seed edits file at {path}")
    seeds = []
    for number, line in enumerate(safe_json.read_utf8(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = safe_json.loads(line)
            triple = EditTriple.model_validate(row)
        except ValidationError as exc:
            raise SynthError(f"{path}:{number}: {brief_errors(exc, 'row', limit=1)}") from None
        except ValueError as exc:
            raise SynthError(f"{path}:{number}: not JSON ({getattr(exc, 'msg', exc)})") from None
        seeds.append({**triple.model_dump(), "id": str(row.get("id", f"{path.stem}-{number}"))})
    return seeds


def synthesize_edit_captions(
    captions: str | Path | Sequence[Caption],
    out: str | Path,
    n: int,
    *,
    seeds: str | Path,
    settings: Settings,
    k: int = 3,
    seed: int = 0,
    model: BaseChatModel | None = None,
    max_requests: int | None = None,
    on_progress: Callable[[SynthReport], None] = lambda _: None,
) -> SynthReport:
    """Write ``n`` (caption, edit instruction, edited caption) rows to ``out`` (JSONL), resuming it.

    Each request shows the model ``k`` triples sampled from ``seeds`` and one caption sampled from
    ``captions``; an answer is kept when it parses, validates and its instruction's ROUGE-L F1 with
    every seed and kept instruction is at most ``settings.synth_rouge_threshold``. Rows:
    ``{caption, instruction, edited_caption, id, model, prompt, seed, run_seed, request, examples,
    caption_source}``, where ``seed`` is the sampling seed sent with the request and ``caption_source``
    the caption's provenance. Rerunning with the same ``out`` continues where it stopped.

    Args:
        captions: a captions file (see ``agent.train.synth.captions.read_captions``) or the captions.
        seeds: the hand-written triples (JSONL), e.g. data/seed_edits.jsonl.
        settings: the served model (``llm``, ``llm_model``, timeouts, retries), temperature and threshold.
        k: seed triples shown per request.
        seed: the run's seed; request i samples from ``Random(f"{seed}:{i}")``.
        model: a chat model to use instead of the settings' OpenAI-compatible client.
        max_requests: stop after this many requests (default: 4 per row still missing).
        on_progress: called with the running report after every request.

    Returns:
        The counts: rows resumed and kept, requests, answers skipped as malformed, invalid or duplicate.

    Raises:
        SynthError: bad arguments or files (naming the limit or line), or the model server failing.
        CaptionFileError: an unreadable captions file.
    """
    plan = SynthPlan(
        captions=read_captions(captions) if isinstance(captions, str | Path) else list(captions),
        seeds=read_seed_edits(seeds),
        out=Path(out),
        n=n,
        k=k,
        seed=seed,
        max_requests=max_requests,
    )
    return synthesize(
        EditCaptionTask(), plan, settings, settings.synth_rouge_threshold, model=model, on_progress=on_progress
    )
