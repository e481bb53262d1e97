"""Edit construction: the tool calls (or the one clarifying question) for a request's clauses."""

from __future__ import annotations

import re
from typing import Any

from agent.policy import replies
from agent.policy.context import Context
from agent.policy.lexicon import match_cpu, mentions_edit
from agent.policy.text import EDIT_VERB, clauses, clean_instruction
from agent.policy.vague import SIZE_SUBJECT, Vague, find_vagueness
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

    A vague clause beside explicit ones gets the question alone (a question comes alone in its message);
    the whole request waits for the answer, which completes that clause (agent.policy.carry).

    ``previous`` is the instruction being corrected ('no, make it blue instead'): a vague correction
    that names a colour is read as that instruction with the colour swapped. ``trust``: the act
    model decided this is an edit, so no clause is asked about.
    """
    found: list[tuple[str, dict[str, Any]]] = []
    parts = clauses(text)
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
            ask(ctx, vague)
            return True
        call = edit_call(ctx, instruction)
        if call is not None:
            found.append(call)
    for name, args in found:
        ctx.call(name, **args)
    return bool(found)


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
    explicit = mentions_edit(instruction) or EDIT_VERB.match(instruction)
    if not (explicit or re.search(r"\b(into|look like|style of|as a)\b", instruction)):
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


def ask(ctx: Context, vague: Vague) -> None:
    """Queue one clarifying question (replacing anything queued), offering only options a ready tool can do.

    A request only a generative editor could do, when none can run here, gets the honest line instead.
    """
    ctx.calls.clear()
    sized = vague.kind == "value" and SIZE_SUBJECT.fullmatch(vague.subject)  # 'change the size': resize answers
    if not ctx.generative and vague.kind in GENERATIVE_ONLY and not sized:
        ctx.note = replies.needs_generative(runnable_examples(ctx), ctx.missing)
        return
    options = [o for o in vague.options if ctx.generative or o not in GENERATIVE_OPTIONS]
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
    """The stock example edits that a bound tool can run here (generative ones only with a generative tool)."""
    return [
        e
        for e in replies.EXAMPLES
        if (ctx.generative or e not in replies.NEEDS_GENERATIVE) and (ctx.edit_count or not e.startswith("undo"))
    ]
