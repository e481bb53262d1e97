"""Capability questions ("can you also remove the background?", "are you able to blur faces?"): the
request they ask about, so the policy answers whether it can (and with what) instead of editing.
"""

from __future__ import annotations

import re

from agent.policy.text import clean_instruction
from agent.policy.vague import find_vagueness

# 'are you able to ...', 'is it possible to ...', 'do you know how to ...' ask whatever their punctuation;
# 'can you also ...?' and 'can you do <a style>?' ask only with a question mark ('can you make it
# brighter' is a polite request).
_ALWAYS = re.compile(
    r"^(?:are you able to|would you be able to|were you able to|is it possible to|would it be possible to|"
    r"do you know how to|do you support|do you do|do you have a way to|is there a way to|can you even|"
    r"is that something you can do:?)\s+(?P<x>.+)$"
)
# 'how do i remove the man in the background': asked of an editor, the edit it can make; never how to do it
# in another program ('how do i crop it in photoshop').
_HOW = re.compile(r"^(?:how (?:do|can|could|would|should) i|how to)\s+(?P<x>.+)$")
_ELSEWHERE = re.compile(
    r"\b(photoshop|gimp|lightroom|paint\.net|myself|on my own|my phone|an app|"
    r"confirm\w*|settings?|undo|redo|save|download|export|upload|tools?|this app|the app|the chat|questions?)\b"
)  # or about this app: 'how do i turn off the confirmations' is for the help answer
_ASKED = re.compile(r"^(?:can|could) you (?:also |even |actually )(?P<x>.+)$|^(?:can|could) you do (?P<y>.+)$")
_VERB = re.compile(r"^(?:make|turn|add|remove|change|give|put|replace|convert|transform|apply|rotate|flip|crop|"
                   r"blur|sharpen|erase|delete|resize|swap|move|colou?ri[sz]e|paint|draw|restore|fix|brighten|"
                   r"darken|get rid of|take out)\b")  # fmt: skip


def capability_request(text: str, *, asked: bool = False) -> str | None:
    """The edit a capability question asks about, as an instruction; None if the text is not one.

    ``asked``: the text is known to be a question (it was answered as one) though its '?' is gone.
    """
    said = text.strip().lower()
    asked = asked or said.endswith("?")
    said = said.rstrip(" ?!.")
    if m := _ALWAYS.match(said):
        thing = m.group("x")
    elif asked and (m := _ASKED.match(said)):
        thing = m.group("x") or m.group("y")
    elif (m := _HOW.match(said)) and _VERB.match(m.group("x")) and not _ELSEWHERE.search(said):
        thing = m.group("x")
        if find_vagueness(clean_instruction(thing)) is not None:
            return None  # 'how can i fix this photo' names no edit to offer: the question what to change
    else:
        return None
    thing = re.sub(r"\s+(?:for me|here|too|as well|on (?:this|it|the (?:image|photo|picture)))$", "", thing.strip())
    thing = re.sub(r"^(?:that|this|things like)\s+", "", thing)
    if not thing or thing in ("it", "that", "this", "anything", "something", "edits", "that too"):
        return None
    if _VERB.match(thing):
        return clean_instruction(thing)
    style = re.sub(r"^(?:a|an)\s+", "", thing)
    return f"make it look like a {style}" if not style.endswith(("style", "effect", "look")) else f"give it a {style}"
