"""Edit construction: the tool calls (or the one clarifying question) for a request's clauses."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from agent.policy import replies
from agent.policy.context import Context
from agent.policy.lexicon import match_cpu, mentions_edit
from agent.policy.text import ADJUSTMENT, EDIT_VERB, clauses, clean_instruction
from agent.policy.vague import COMPLAINT, SIZE_SUBJECT, Vague, find_vagueness, what_to_change
from agent.policy.vocabulary import COLOR_WORD
from graphs.specs import CONTROL_TOOLS
from tools.registry import BUILTIN_TOOLS

BUILTIN_NAMES = frozenset(tool.name for tool in BUILTIN_TOOLS)
AGAIN = re.compile(
    r"^(more|even more|a (bit|little|tad) more|more please|stronger|a (bit|little) stronger|even stronger|"
    r"again|do it again|once more|one more time|further|keep going|more of that|same again|twice as much)[.!]*$"
)


def edit(ctx: Context, text: str, previous: str = "", *, trust: bool = False) -> bool:
    """Queue edit calls for every clause (or one clarifying question); False if none is an edit.

    A vague clause after explicit ones: those run and the question about it closes the reply; a vague
    clause first gets the question alone. What is left of the request waits for the answer, which
    completes that clause (agent.policy.carry). An evaluative opening followed by explicit edits is
    what they spell out (``specifics``).

    ``previous`` is the instruction being corrected ('no, make it blue instead'): a vague correction
    that names a colour is read as that instruction with the colour swapped. ``trust``: the act
    model decided this is an edit, so no clause is asked about.
    """
    found: list[tuple[str, dict[str, Any]]] = []
    parts = framing_last(specifics(one_adjustment(clauses(text), text)))
    for clause in parts:
        instruction = clean_instruction(clause)
        if not instruction:
            continue
        vague = None if trust else clause_vagueness(instruction)
        if vague is not None and previous:
            swapped = swap_color(previous, instruction)
            if swapped:
                instruction, vague = swapped, None
        if vague is not None:
            ask(ctx, vague, before=found)
            return True
        call = edit_call(ctx, instruction)
        if call is not None:
            found.append(call)
    for name, args in found:
        ctx.call(name, **args)
    return bool(found)


def specifics(parts: list[str]) -> list[str]:
    """The explicit clauses after an evaluative opening clause ('enhance the image and make it less blurry',
    'make it look better and remove the festival bands': the edits say what better means); else ``parts``.

    A complaint about a part ('the background is boring. rotate it') asks for a change of its own, and
    an evaluative clause after an edit ('rotate it, then fix it up') for one more: both are asked about.
    """
    said = [clean_instruction(p) for p in parts]
    first = clause_vagueness(said[0]) if len(said) > 1 and said[0] else None
    if first is None or first.kind != "change" or COMPLAINT.fullmatch(said[0]):
        return parts
    rest = [p for p in said[1:] if p]
    return parts[1:] if rest and all(explicit(p) for p in rest) else parts


# Tools that change the frame; a crop or rotation is asked about after edits of the content only.
GEOMETRIC = frozenset({"crop", "rotate", "flip", "resize"})


def framing_last(parts: list[str]) -> list[str]:
    """``parts`` with a crop or rotation that names no region or direction moved after the content
    edits that follow it ('crop the image and remove the background': the background goes at once and
    the framing question closes the reply, as a photo is framed last); else ``parts``.

    Only when it is the one vague clause and every clause after it is an explicit edit of the content:
    before another change of the frame ('crop it and rotate it 90 degrees') the order stands.
    """
    said = [clean_instruction(p) for p in parts]
    vague = [(i, v) for i, p in enumerate(said) if p and (v := clause_vagueness(p)) is not None]
    if len(vague) != 1 or vague[0][1].kind not in ("crop", "rotate"):
        return parts
    i = vague[0][0]
    after = [p for p in said[i + 1 :] if p]
    if not after or not all(explicit(p) and not frames(p) for p in after):
        return parts
    return [*parts[:i], *parts[i + 1 :], parts[i]]


def frames(instruction: str) -> bool:
    """Whether an explicit edit changes the frame (crop, rotate, flip, resize)."""
    cpu = match_cpu(instruction)
    return cpu is not None and cpu.tool in GEOMETRIC


def one_adjustment(parts: list[str], text: str) -> list[str]:
    """The message as one clause when it is one attribute set by a number, whose part the commas split
    ('edit the brightness of the head, neck, and body of the top giraffe to -27'); else ``parts``.

    Only when no other clause is an edit of its own ('rotate it 90 degrees and set the contrast to 20').
    The clauses after the number are not part of it: 'increase the contrast by 20 and fix it up' is two.
    """
    if len(parts) < 2 or not ADJUSTMENT.search(text):
        return parts
    end = next(i for i in range(len(parts)) if i == len(parts) - 1 or ADJUSTMENT.search(", ".join(parts[: i + 1])))
    if any(explicit(p) for p in parts[: end + 1] if not ADJUSTMENT.search(p)):
        return parts
    return [text] if end == len(parts) - 1 else [", ".join(parts[: end + 1]), *parts[end + 1 :]]


def explicit(clause: str) -> bool:
    """Whether a clause is an edit of its own: an instruction with nothing missing."""
    instruction = clean_instruction(clause)
    return (
        bool(instruction)
        and clause_vagueness(instruction) is None
        and bool(match_cpu(instruction) or EDIT_VERB.match(instruction))
    )


def clause_vagueness(instruction: str) -> Vague | None:
    """What one clause of a request lacks (None: it is explicit).

    A remark beside an explicit edit ('the horizon is tilted, rotate it by 5 degrees', 'lower the
    contrast, it looks too harsh') is the edit's reason, not a second request: it is no question.
    """
    vague = find_vagueness(instruction)
    if vague is not None and vague.kind == "change" and vague.subject != "evaluative" and match_cpu(instruction):
        return None  # 'make the tones cooler' names its change
    return vague


def edit_call(ctx: Context, instruction: str) -> tuple[str, dict[str, Any]] | None:
    """The tool call for one explicit instruction: a CPU tool if one fits, else the generative one."""
    cpu = match_cpu(instruction)
    if cpu is not None and cpu.tool in ctx.tools:
        return cpu.tool, {"instruction": instruction, **cpu.args}
    plugin = plugin_for(ctx, instruction)
    if plugin is not None:
        return plugin, {"instruction": instruction}
    named = mentions_edit(instruction) or EDIT_VERB.match(instruction) or ADJUSTMENT.search(instruction)
    if not (named or re.search(r"\b(into|look like|style of|as a)\b", instruction)):
        return None
    if re.match(r"^(in the style of|as a|like a|like an)\b", instruction):
        instruction = "make it " + instruction
    generative = ctx.generative
    return (generative, {"instruction": instruction}) if generative else None


def plugin_for(ctx: Context, instruction: str) -> str | None:
    """A bound tool outside the built-ins whose name words all appear in the instruction."""
    words = re.findall(r"[a-z]+", instruction)
    for name, schema in ctx.tools.items():
        if name in BUILTIN_NAMES or name in CONTROL_TOOLS or name in ctx.generative_tools:
            continue
        required = set(schema["function"]["parameters"].get("required", [])) - {"instruction"}
        parts = [p for p in name.split("_") if len(p) > 2]
        if parts and not required and all(any(w.startswith(p[:5]) for w in words) for p in parts):
            return name
    return None


def swap_color(previous: str, correction: str) -> str | None:
    """'make the car red' + 'make it blue' -> 'make the car blue'."""
    new = re.search(rf"\b{COLOR_WORD}\b", correction)
    old = re.search(rf"\b{COLOR_WORD}\b", previous)
    if not new or not old:
        return None
    return previous[: old.start()] + new.group(0) + previous[old.end() :]


def ask(ctx: Context, vague: Vague, before: list[tuple[str, dict[str, Any]]] | None = None) -> None:
    """Queue one clarifying question, offering only options a ready tool can do.

    ``before``: the edit calls of the clauses said before the vague one, queued first (after whatever
    is queued already: an approval, an undo); otherwise the question replaces anything queued. A
    request only a generative editor could do, when none can run here, gets the honest line instead.
    """
    sized = vague.kind == "value" and SIZE_SUBJECT.fullmatch(vague.subject)  # 'change the size': resize answers
    if not ctx.generative and vague.kind in GENERATIVE_ONLY and not sized:
        ctx.calls.clear()
        ctx.note = replies.needs_generative(runnable_examples(ctx), ctx.missing)
        return
    if before:
        for name, args in before:
            ctx.call(name, **args)
        if vague.kind == "change" and vague.question == what_to_change().question:
            vague = replace(vague, question="What else would you like me to change?")  # after 'Done: ...'
    else:
        ctx.calls.clear()
    options = [
        o
        for o in vague.options
        if (ctx.generative or o not in GENERATIVE_OPTIONS)
        and ((cpu := match_cpu(o)) is None or cpu.tool in ctx.tools)  # a disabled tool's edit is no option
    ]
    ctx.call("ask_clarification", question=vague.question, options=options)


# The vague requests only a generative editor could carry out, and the stock options only it could do.
GENERATIVE_ONLY = frozenset({"text", "fill", "destination", "value", "add", "remove"})
GENERATIVE_OPTIONS = frozenset(
    {"turn it into a watercolor painting", "a hat on the person", "a rainbow in the sky", "snow",
     "a specific object (which one?)", "a specific object"}
)  # fmt: skip


def offer_tool(ctx: Context, request: str) -> str | None:
    """What would carry out a request asked about: a bound CPU tool, else the generative editor if ready."""
    cpu = match_cpu(request)
    if cpu is not None and cpu.tool in ctx.tools:
        return f"the {cpu.tool} tool"
    return f"the generative editor ({ctx.generative})" if ctx.generative else None


def runnable_examples(ctx: Context) -> list[str]:
    """The stock example edits that a bound tool can run here: a CPU example only while its tool is bound
    (a disabled or unready tool is not offered), a generative one only with a generative tool, undo
    only after an edit.
    """
    return [e for e in replies.EXAMPLES if runnable(ctx, e)]


def runnable(ctx: Context, example: str) -> bool:
    """Whether a bound tool can carry out a stock example now."""
    if example.startswith("undo"):
        return ctx.edit_count > 0
    if example in replies.NEEDS_GENERATIVE:
        return bool(ctx.generative)
    cpu = match_cpu(example)
    return cpu is not None and cpu.tool in ctx.tools
