"""`dialogpaint synth`: self-instruct editing dialogues in the eval-set format, labelled with expected actions.

As in DialogPaint (Wei et al. 2023, section 3.1.1), a caption of an image and a few hand-written
dialogues are shown to a language model, which writes a new dialogue about that image with the
decision expected at every turn. An answer is kept only when it is a valid eval-set dialogue
(agent.eval.dataset) whose labels also make sense in order: a confirmation answers an edit, an undo
has as many edits before it as it takes back, a redo follows an undo and a question gets its answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agent.eval.dataset import EXPECTS, EvalDialogue, EvalTurn, load_eval_file
from agent.train.synth.captions import Caption, read_captions
from agent.train.synth.engine import Rejected, SynthPlan, SynthReport, first_json_object, synthesize
from tools.errors import brief_errors

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agent.settings import Settings

MAX_TURNS = 8
MAX_USER_CHARS = 300

HEAD = f"""You write training dialogues for an assistant that edits a photo through conversation.
A dialogue is the user's messages, each with the decision the assistant should take ("expect"):
- edit: the message says what to change (and where, when it matters); a default amount is fine
- clarify: too vague to act on: the change, the target, the value, the object to add or remove, the
  amount or the direction is missing; the next message answers the question
- undo (add "undo_steps": how many edits it takes back), redo
- forget: take back one earlier edit by what it did or its number and keep the later ones ("forget the
  sepia but keep the rest", "drop the second edit"); rerender: redo the generative edits in one go from
  the original ("re-render it from the original")
- confirm_yes, confirm_no: the answer to the edit just made or proposed ("no, make it green instead" is
  confirm_no)
- chat: greetings, thanks, help, questions about the assistant, bye
"instruction_contains" lists words the executed instruction must hold. Write one new dialogue of 1 to
{MAX_TURNS} messages about the photo in the caption, unlike the examples, phrased as real users write.
Answer with one JSON object and nothing else: {{"turns": [{{"user": "...", "expect": "..."}}]}}
The labels are {", ".join(EXPECTS)}."""


def label_problem(turns: Sequence[EvalTurn]) -> str | None:
    """The first label that makes no sense where it stands, or None."""
    edits = undone = 0
    for number, turn in enumerate(turns, start=1):
        where = f"turns.{number - 1}"
        if turn.expect in ("confirm_yes", "confirm_no") and (
            number == 1 or turns[number - 2].expect not in ("edit", "confirm_yes")
        ):
            return f"{where}: {turn.expect} must answer an edit made or proposed just before"
        if turn.expect == "undo":
            steps = turn.undo_steps or 1
            if steps > edits:
                return f"{where}: undo of {steps} step(s) with {edits} edit(s) to take back"
            edits, undone = edits - steps, undone + steps
        elif turn.expect == "redo":
            if not undone:
                return f"{where}: redo with nothing undone"
            edits, undone = edits + 1, undone - 1
        elif turn.expect == "forget":
            if edits < 2:
                return f"{where}: forget with {edits} edit(s): it takes back one edit and keeps the later ones"
            edits, undone = edits - 1, 1  # the image from before the forget is what redo brings back
        elif turn.expect == "rerender" and edits < 2:
            return f"{where}: rerender with {edits} edit(s): it re-runs two or more edits from the original"
        elif turn.expect == "edit" or (turn.expect == "confirm_no" and turn.instruction_contains):
            edits, undone = edits + 1, 0  # a new edit ends the redo branch
        if turn.expect == "clarify" and number == len(turns):
            return f"{where}: a clarifying question needs the user's answer after it"
    return None


class DialogueTask:
    """The dialogue task for the self-instruct engine."""

    head = HEAD

    def example(self, seed: dict[str, Any]) -> str:
        """A seed dialogue as its caption and its JSON turns."""
        return f"Caption: {seed['caption']}\n{json.dumps({'turns': seed['turns']})}"

    def ask(self, caption: Caption) -> str:
        """The caption to write a dialogue about."""
        return f"Caption: {caption.text}\n"

    def parse(self, answer: str, caption: Caption, request: int) -> dict[str, Any]:
        """The dialogue of an answer, labelled; invalid eval format or incoherent labels are rejected."""
        value = first_json_object(answer)
        try:
            dialogue = EvalDialogue.model_validate(
                {"id": f"synth-{request}", "caption": caption.text, "turns": value.get("turns")}
            )
        except ValidationError as exc:
            raise Rejected("invalid", brief_errors(exc, "dialogue", limit=1)) from None
        if len(dialogue.turns) > MAX_TURNS:
            raise Rejected("invalid", f"{len(dialogue.turns)} turns (at most {MAX_TURNS})")
        if long := next((t for t in dialogue.turns if len(t.user) > MAX_USER_CHARS), None):
            raise Rejected("invalid", f"a message of {len(long.user)} characters (at most {MAX_USER_CHARS})")
        if problem := label_problem(dialogue.turns):
            raise Rejected("invalid", problem)
        turns = [t.model_dump(exclude_defaults=True) for t in dialogue.turns]
        actions = [t.expect for t in dialogue.turns]
        return {"id": dialogue.id, "caption": caption.text, "turns": turns, "actions": actions}

    def key(self, row: dict[str, Any]) -> str:
        """The user's messages, in order: what makes two dialogues the same."""
        return " / ".join(str(turn["user"]) for turn in row["turns"])


def read_seed_dialogues(path: str | Path) -> list[dict[str, Any]]:
    """The dialogues of a seed file in the eval-set format; one without a caption gets "a picture"."""
    return [
        {
            "id": d.id,
            "caption": d.caption or "a picture",
            "turns": [t.model_dump(exclude_defaults=True) for t in d.turns],
        }
        for d in load_eval_file(path)
    ]


def synthesize_dialogues(
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
    """Write ``n`` labelled dialogues to ``out`` (JSONL in the eval-set format), resuming it.

    Each request shows the model ``k`` dialogues sampled from ``seeds`` and one caption sampled
    from ``captions``. Rows are eval-set dialogues (``dialogpaint eval`` runs them) plus ``actions``
    (the expected action of each turn), ``model``, ``prompt``, ``seed`` (the sampling seed sent),
    ``run_seed``, ``request``, ``examples`` (seed ids shown) and ``caption_source``.
    Arguments are those of ``agent.train.synth.edits.synthesize_edit_captions``.
    """
    plan = SynthPlan(
        captions=read_captions(captions) if isinstance(captions, str | Path) else list(captions),
        seeds=read_seed_dialogues(seeds),
        out=Path(out),
        n=n,
        k=k,
        seed=seed,
        max_requests=max_requests,
    )
    return synthesize(
        DialogueTask(), plan, settings, settings.synth_rouge_threshold, model=model, on_progress=on_progress
    )
