"""disambiguate: ask which one when an edit names an object the current image holds more than once.

Text alone cannot tell that "change the cat to a tiger" is ambiguous: the photo can. With a detector
in the run context, the objects the open edit calls point at (graphs.referents) are looked up in the
head image; an object found more than once turns the call into a question naming the candidates by
position, and the edit is not run. The question's outcome carries the candidates (a Referent), so
any dialogue model can fold the answer in: a served one reads the ToolMessage, the embedded policy
reads the artifact. The same object is never asked about twice in a row.
"""

from __future__ import annotations

import logging
from typing import Any

from langgraph.runtime import Runtime

from graphs.deps import GraphDeps
from graphs.nodes.actions import edit_run
from graphs.outcomes import outcomes, tool_message
from graphs.referents import (
    Phrase,
    Referent,
    candidates,
    in_order,
    name_candidate,
    object_phrases,
    positions,
    question,
)
from graphs.state import CallSpec, EditState, head_revision
from graphs.storage.store import get_image
from graphs.turn import open_calls, previous_turn
from tools.detect import Detection
from tools.errors import DialogPaintError

logger = logging.getLogger(__name__)


def disambiguate(state: EditState, runtime: Runtime[GraphDeps]) -> dict[str, Any]:
    """Answer the open edit calls with a question if one names an object seen several times; else change nothing."""
    deps = runtime.context
    messages = state["messages"]
    calls = edit_run(messages)
    asked = {o["referent"]["object"] for o in outcomes(previous_turn(messages)) if "referent" in o}
    phrases = {c["id"]: [p for p in object_phrases(instruction(c)) if p.label not in asked] for c in calls}
    labels = list(dict.fromkeys(p.label for found in phrases.values() for p in found))
    if not labels or deps.detector is None or state.get("head") is None:
        return {}
    try:
        image = get_image(deps.store, head_revision(state.get("revisions", []), state.get("head"))["image"])
        found = deps.detector.detect(image, labels)
    except DialogPaintError as exc:  # the edit node reports a lost image; a missing detector only costs the question
        logger.warning("no detection for %s: %s", ", ".join(labels), exc)
        return {}
    except Exception:  # the boundary with detector code: its bug must not cost the user's edit
        logger.exception("the detector crashed looking for %s", ", ".join(labels))
        return {}
    for call in calls:
        for phrase in phrases[call["id"]]:
            same = candidates(found, phrase.label)
            if len(same) > 1:
                asking = ask(calls, call, phrase, in_order(same, image.size), image.size)
                return {"messages": [*asking, *withdrawn(messages)]}
    return {}


def withdrawn(messages: list[Any]) -> list[Any]:
    """The model's own question after the edits, not put: the which-one question comes first, alone."""
    return [
        tool_message(c["id"], "Not asked: the user was asked which one first; ask again after that.", "skipped", "")
        for c in open_calls(messages)
        if c["name"] == "ask_clarification"
    ]


def instruction(call: CallSpec) -> str:
    """The instruction of an edit call ('' when the model left it out: validation answers that)."""
    value = call["args"].get("instruction")
    return value if isinstance(value, str) else ""


def ask(
    calls: list[CallSpec], target: CallSpec, phrase: Phrase, same: list[Detection], size: tuple[int, int]
) -> list[Any]:
    """ToolMessages for every open edit call: the question on ``target``, the others not run."""
    referent = Referent(object=phrase.label, phrase=phrase.text, positions=positions(same, size))
    say = question(referent)
    example = name_candidate(instruction(target), phrase.text, referent["positions"][0])
    content = (
        f"Not applied: the image holds {len(same)} objects matching '{phrase.label}' "
        f"({', '.join(referent['positions'])}), so the user was asked: {say} When they answer, call "
        f"{target['name']} again with the instruction naming that one by position, e.g. '{example}'."
    )
    logger.info("asking which %s: %d found", phrase.label, len(same))
    messages = []
    for call in calls:
        if call is target:
            extra = {"tool": call["name"], "instruction": instruction(call), "referent": referent}
            messages.append(tool_message(call["id"], content, "clarify", say, **extra))
        else:
            text = f"Not run: waiting for the user's answer about the {phrase.label}."
            messages.append(tool_message(call["id"], text, "skipped", "", tool=call["name"]))
    return messages
