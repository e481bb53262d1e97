"""What the act model reads from the rules: the act the rules chose and the text signals they saw.

The rules stay the experts on arguments (tools, undo counts, colours, folding answers); their vote
and their signals are features, so the model learns where to trust them and where real users'
words differ from the ones the rules were written against.
"""

from __future__ import annotations

import re

from agent.policy.commands import dialogue_act
from agent.policy.features import ActContext, Features, hashed
from agent.policy.lexicon import match_cpu, mentions_edit
from agent.policy.posts import evaluative_only, operation_request
from agent.policy.text import NO, YES, clean_instruction, strip_leading
from agent.policy.vague import find_vagueness


def signals(text: str) -> tuple[str, ...]:
    """What the rule machinery sees in the message, as feature names."""
    said_yes, after_yes = strip_leading(YES, text)
    said_no, after_no = strip_leading(NO, text)
    instruction = clean_instruction(text)
    vague = find_vagueness(instruction)
    found = [f"act:{dialogue_act(text)}", f"vague:{vague.kind if vague else None}"]
    if match_cpu(instruction) is not None:
        found.append("cpu")
    if mentions_edit(instruction):
        found.append("edit_word")
    if said_yes:
        found.append("yes" if not after_yes else "yes+more")
    if said_no:
        found.append("no" if not after_no else "no+more")
    if not instruction:
        found.append("empty")
    if operation_request(text):
        found.append("operation")  # an operation named somewhere in the message (agent/policy/posts.py)
    if evaluative_only(text):
        found.append("evaluative_only")
    if re.search(r"\d", text):
        found.append("number")
    return tuple(found)


def decision_features(text: str, context: ActContext, vote: str) -> Features:
    """The features of one decision: hashed message, context, the rules' vote and signals, and the message."""
    return Features(hashed(text, context, vote, signals(text)), text)
