"""Edit construction: the tool calls (or the one clarifying question) for a request's clauses."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
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
    completes that clause (agent.policy.carry). The clauses run in the order ``read`` gives.

    ``previous`` is the instruction being corrected ('no, make it blue instead'): a vague correction
    that names a colour is read as that instruction with the colour swapped. ``trust``: the act
    model decided this is an edit, so no clause is asked about.
    """
    found: list[tuple[str, dict[str, Any]]] = []
    for clause in read(text):
        instruction, vague = clause.instruction, None if trust else clause.vague
        if not instruction:
            continue
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


@dataclass(frozen=True)
class Clause:
    """One clause of a request, read once: as said, as an instruction, and what it lacks (None: nothing)."""

    said: str
    instruction: str
    vague: Vague | None

    @classmethod
    def of(cls, said: str) -> Clause:
        """A clause as the user said it, read."""
        instruction = clean_instruction(said)
        return cls(said, instruction, clause_vagueness(instruction) if instruction else None)

    @property
    def explicit(self) -> bool:
        """Whether the clause is an edit of its own: an instruction with nothing missing."""
        return (
            bool(self.instruction)
            and self.vague is None
            and bool(match_cpu(self.instruction) or EDIT_VERB.match(self.instruction))
        )


def read(text: str, *, said: bool = True) -> list[Clause]:
    """A request's clauses in the order they run: an attribute set by a number kept whole
    (``one_adjustment``), a direction said after its property joined to it (``directed``), an evaluative
    opening that the edits after it spell out dropped (``specifics``), a photo framed last
    (``framing_last``). The edit loop and the request carried over a question (agent.policy.carry)
    both read it, so they agree on what ran.

    ``said``: the text is a message as the user said it. What is left of a request once the clauses
    before its question ran opens on that vague clause by construction: it is no evaluative opening.
    """
    parts = directed(one_adjustment([Clause.of(linked(c, i)) for i, c in enumerate(clauses(text))], text))
    return framing_last(specifics(parts) if said else parts)


_LINKED = re.compile(r"^(?:(?P<but>but)|or)(?: rather| maybe| else| instead| just)?,? ")


def linked(clause: str, i: int) -> str:
    """The instruction a clause opening on 'but' or 'or' gives ('it's nice, but make the sky bluer'; a message
    'or make it purple' corrects the reply before it); else the clause, a remark or an alternative when a
    later clause opens on 'or' ('make it brighter, or make it darker if that looks bad': ``REMARK``).
    """
    m = _LINKED.match(clause)
    return clause[m.end() :] if m and (i == 0 or m.group("but")) and EDIT_VERB.match(clause[m.end() :]) else clause


def specifics(parts: list[Clause]) -> list[Clause]:
    """The explicit clauses after an evaluative opening clause ('enhance the image and make it less blurry',
    'make it look better and remove the festival bands': the edits say what better means); else ``parts``.

    A complaint about a part ('the background is boring. rotate it') asks for a change of its own, and
    an evaluative clause after an edit ('rotate it, then fix it up') for one more: both are asked about.
    """
    first = parts[0].vague if len(parts) > 1 else None
    if first is None or first.kind != "change" or COMPLAINT.fullmatch(parts[0].instruction):
        return parts
    rest = [p for p in parts[1:] if p.instruction]
    return parts[1:] if rest and all(p.explicit for p in rest) else parts


# A clause that says which way a property goes, of the property the clause before names ('raise it').
_WAY = re.compile(
    r"^(?:(?P<v>raise|lower|increase|decrease|boost|reduce|(?:bring|turn) (?:up|down)) (?:it|this)|"
    r"(?P<p>bring|turn) (?:it|this) (?P<d>up|down))\b"
)


def directed(parts: list[Clause]) -> list[Clause]:
    """``parts`` with a property left without a direction joined to the next clause that gives it one
    ('adjust the exposure, raise it slightly to light up the faces' -> 'raise the exposure slightly to
    light up the faces'); else ``parts``.
    """
    out = list(parts)
    for i in range(len(out) - 1, 0, -1):
        vague, way = out[i - 1].vague, _WAY.match(out[i].instruction)
        if vague is not None and vague.kind == "direction" and way:
            verb = way.group("v") or f"{way.group('p')} {way.group('d')}"
            out[i - 1 : i + 1] = [Clause.of(f"{verb} the {vague.subject}{out[i].instruction[way.end() :]}")]
    return out


# Tools that change the frame; a crop or rotation is asked about after edits of the content only.
GEOMETRIC = frozenset({"crop", "rotate", "flip", "resize"})


def framing_last(parts: list[Clause]) -> list[Clause]:
    """``parts`` with a crop or rotation that names no region or direction moved after the content
    edits that follow it ('crop the image and remove the background': the background goes at once and
    the framing question closes the reply, as a photo is framed last); else ``parts``.

    Only when it is the one vague clause and every clause after it is an explicit edit of the content:
    before another change of the frame ('crop it and rotate it 90 degrees') the order stands.
    """
    vague = [(i, p.vague) for i, p in enumerate(parts) if p.vague is not None]
    if len(vague) != 1 or vague[0][1].kind not in ("crop", "rotate"):
        return parts
    i = vague[0][0]
    after = [p for p in parts[i + 1 :] if p.instruction]
    if not after or not all(p.explicit and not frames(p.instruction) for p in after):
        return parts
    return [*parts[:i], *parts[i + 1 :], parts[i]]


def frames(instruction: str) -> bool:
    """Whether an explicit edit changes the frame (crop, rotate, flip, resize)."""
    cpu = match_cpu(instruction)
    return cpu is not None and cpu.tool in GEOMETRIC


def one_adjustment(parts: list[Clause], text: str) -> list[Clause]:
    """The message as one clause when it is one attribute set by a number, whose part the commas split
    ('edit the brightness of the head, neck, and body of the top giraffe to -27'); else ``parts``.

    Only when no other clause is an edit of its own ('rotate it 90 degrees and set the contrast to 20').
    The clauses after the number are not part of it: 'increase the contrast by 20 and fix it up' is two.
    """
    if len(parts) < 2 or not ADJUSTMENT.search(text):
        return parts
    said = [p.said for p in parts]
    end = next(i for i in range(len(said)) if i == len(said) - 1 or ADJUSTMENT.search(", ".join(said[: i + 1])))
    if any(p.explicit for p in parts[: end + 1] if not ADJUSTMENT.search(p.said)):
        return parts
    return [Clause.of(text)] if end == len(parts) - 1 else [Clause.of(", ".join(said[: end + 1])), *parts[end + 1 :]]


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
    if REMARK.match(instruction):
        return None  # 'but the bright lamp ruins it': a remark with an edit word in it, no instruction
    named = mentions_edit(instruction) or EDIT_VERB.match(instruction) or ADJUSTMENT.search(instruction)
    if not (named or re.search(r"\b(into|look like|style of|as a)\b", instruction)):
        return None
    if re.match(r"^(in the style of|as a|like a|like an)\b", instruction):
        instruction = "make it " + instruction
    generative = ctx.generative
    return (generative, {"instruction": instruction}) if generative else None


# How a remark, a story, an alternative or a request for advice opens ('but ...', "there's a lot i like ...",
# 'i was taking ...', 'or maybe a soft pink', 'give me advice on how to improve it'): no instruction of its own.
REMARK = re.compile(
    r"^(?:but|or|because|since|although|though|there(?:'s| is| are| was)|i|i'm|i've|i was|we|we're|he|she|they|"
    r"give (?:me|us) (?:some )?(?:advice|tips|ideas|suggestions|pointers))\b"
)


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
