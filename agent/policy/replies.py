"""The local policy's own words: chat replies, help built from the bound tools, stock questions."""

from __future__ import annotations

from typing import Any

from graphs.specs import CONTROL_TOOLS

CONFUSED = "Sorry, I couldn't do that. Could you say it another way?"
NOTHING_TO_CANCEL = "OK, I'll leave the image as it is. What would you like to change?"
UNSURE = "I'm not sure what change you'd like. What should I do to the image?"
EXAMPLES = ("make it brighter", "make it black and white", "turn the sky purple", "undo the last edit")
NEEDS_GENERATIVE = frozenset({"turn the sky purple"})  # the examples only a generative editor can do
_ACKS = (
    "Great, glad you like it! Anything else?",
    "Good. What next?",
    "Glad that works. Anything else to change?",
)


def needs_generative(examples: list[str], missing: list[dict[str, Any]] | None = None) -> str:
    """One line: the request needs a generative editor, which cannot run here, what would enable it,
    and what can be done now. ``missing``: the facts' not-ready tools (graphs.facts.MissingTool).
    """
    editor = next((m for m in missing or [] if m.get("generative")), None)
    if editor is None:
        why = "which isn't available here"
    else:
        enable = f"; to enable it, {editor['enable']}" if editor.get("enable") else ""
        why = f"{editor['name']}, which can't run here ({editor['reason']}){enable}"
    return f"That needs the generative editor {why}. What I can do now: " + ", ".join(f"'{e}'" for e in examples) + "."


def still_waiting(instruction: str, *, hesitating: bool) -> str:
    """The reply to thanks or hesitation while a proposal waits: nothing is applied; it still waits."""
    what = f"'{instruction}'" if instruction else "the proposed edit"
    if hesitating:
        return f"No rush: nothing is changed. {what} is still waiting; say yes to apply it or no to drop it."
    return f"You're welcome! Shall I go ahead with {what}? Say yes or no."


HESITATION_REPLY = "No rush: take your time. Tell me what you'd like to change when you're ready."


def nothing_applied(failed: str) -> str:
    """Undo when no edit was ever applied: the image is the original."""
    what = f"the last edit ('{failed}') could not be applied" if failed and failed not in ("failed", "skipped") else ""
    return "Nothing was applied" + (f": {what}" if what else "") + ", so the image is still the original."


def acknowledge(variant: int) -> str:
    """A short acknowledgement after the user approves an edit.

    The wording varies with ``variant`` (taken from the conversation), never with process state, so
    the same conversation always gets the same reply (scripted evaluations rely on it).
    """
    return _ACKS[variant % len(_ACKS)]


def chat(act: str, tools: dict[str, dict[str, Any]]) -> str:
    """A plain-text reply for a non-edit act."""
    if act == "help":
        return help_text(tools)
    if act == "greeting":
        return "Hi! Tell me how you'd like to change the image, e.g. 'make it brighter' or 'turn the sky purple'."
    if act == "thanks":
        return "You're welcome! Anything else you'd like to change?"
    if act == "praise":
        return "Thanks! Anything else you'd like to change?"
    if act == "bye":
        return "Goodbye! Your edits are saved."
    return "I can only help with editing this image. " + help_text(tools)


def help_text(tools: dict[str, dict[str, Any]]) -> str:
    """What the bound editing tools can do, in one paragraph."""
    names = [n for n in tools if n not in CONTROL_TOOLS]
    return (
        "I edit your image through conversation. Tools: "
        + ", ".join(n.replace("_", " ") for n in names)
        + ". Tell me what to change ('make it warmer', 'turn the dog into a cheetah'); I ask when a "
        "request is unclear, and you can say 'undo', 'go back two steps' or 'redo' at any time."
    )
