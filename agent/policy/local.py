"""LocalPolicy: a chat model that decides from the conversation, offline, with no weights.

It implements the same contract as the vLLM-served model: messages in, one AIMessage out with tool
calls for the bound tools or plain text. It reads no sentence the graph wrote: the user's words, the
tool calls of earlier AI messages, the outcomes on ToolMessages (graphs.outcomes) and the facts the
system prompt states in words, which the graph hands it as data (graphs.facts).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.policy import replies
from agent.policy.act_model import ActModel, shipped
from agent.policy.capability import capability_request
from agent.policy.commands import dialogue_act, hesitant, thanks_only, undo_steps
from agent.policy.features import ActContext
from agent.policy.learned import decision_features
from agent.policy.lexicon import COLOR_WORD, match_cpu, mentions_edit
from agent.policy.recipes import recipe_request, take_back
from agent.policy.referents import answer_referent
from agent.policy.text import NO, YES, clauses, clean_instruction, normalize, strip_leading
from agent.policy.vague import SIZE_SUBJECT, Vague, find_vagueness, fold_answer
from graphs.facts import DialogueFacts, facts_in
from graphs.outcomes import outcome
from graphs.specs import CONTROL_TOOLS
from tools.registry import BUILTIN_TOOLS

BUILTIN_NAMES = frozenset(tool.name for tool in BUILTIN_TOOLS)
AGAIN = re.compile(
    r"^(more|even more|a (bit|little|tad) more|more please|stronger|a (bit|little) stronger|even stronger|"
    r"again|do it again|once more|one more time|further|keep going|more of that|same again|twice as much)[.!]*$"
)
EDIT_VERB = re.compile(
    r"^(make|turn|change|replace|swap|switch|add|put|place|insert|remove|erase|delete|get rid of|take out|"
    r"give|paint|draw|convert|transform|let|have|show|dress|set|move|fill|cover|apply|color|recolor|"
    r"render|stylize|restyle|bring|hide|decorate|age|morph|transfer|fix|restore|colorize|repaint|"
    r"redraw|create|generate|include|cartoonify|animate|style|reimagine|swap out|clean|clear|dye|light|"
    r"illuminate|enlarge|shrink|extend|expand|widen|lengthen|shorten|fade|wipe|edit|adjust|increase|decrease|"
    r"raise|lower|reduce|boost|modify|alter|brighten|darken|lighten|photoshop|crop|rotate|straighten)\b"
)


@dataclass(frozen=True)
class Decision:
    """What the policy decided: its act (the act model's labels) and any words for the user.

    The tool calls it makes are queued on the Context; ``text`` is shown only when there are none.
    """

    act: str  # edit | clarify | undo | redo | confirm_yes | confirm_no | chat
    text: str = ""


@dataclass(frozen=True)
class Words:
    """What the rules read off the latest message once: a leading yes or no (and what follows), its act."""

    said_yes: bool
    after_yes: str
    said_no: bool
    after_no: str
    act: str | None

    @classmethod
    def of(cls, text: str) -> Words:
        """Read ``text`` (normalised)."""
        said_yes, after_yes = strip_leading(YES, text)
        said_no, after_no = strip_leading(NO, text)
        return cls(said_yes, after_yes, said_no, after_no, dialogue_act(text))


@dataclass
class Context:
    """What the policy reads from the messages it is given."""

    text: str  # the latest user message, normalised
    tools: dict[str, dict[str, Any]]  # bound tool schemas by name
    generative_tools: frozenset[str] = frozenset()  # bound tools that follow free-form instructions
    edit_count: int = 0
    pending: bool = False
    pending_instruction: str = ""
    clarified_request: str = ""  # the vague request the last turn asked about
    last_edit: str = ""  # the instruction of the edit the last turn applied
    last_failed: str = ""  # the instruction of an edit the last turn tried and could not apply
    last_turn_edits: int = 0  # how many edits the last turn applied ("undo these edits")
    applied: list[tuple[str, str]] = field(default_factory=list)  # (tool, instruction) on the path, oldest first
    missing: list[dict[str, Any]] = field(default_factory=list)  # registered tools that cannot run now (facts)
    note: str = ""  # words for the user when the decision queues no call
    calls: list[dict[str, Any]] = field(default_factory=list)
    messages: Sequence[BaseMessage] = ()  # the conversation, for the which-one answer

    @property
    def generative(self) -> str | None:
        """The bound tool that follows free-form instructions, if any."""
        return next((name for name in self.tools if name in self.generative_tools), None)

    def call(self, name: str, **args: Any) -> None:
        """Queue a tool call."""
        self.calls.append({"name": name, "args": args, "id": "call_" + uuid.uuid4().hex[:24], "type": "tool_call"})


class LocalPolicy(BaseChatModel):
    """The embedded dialogue policy: a learned act model over rules for arguments, no network, no downloads.

    ``learned=False`` (or no shipped weights) decides with the rules alone, the baseline the
    learned model is measured against; ``act_model`` replaces the shipped weights (a retrained file).
    """

    learned: bool = True
    act_model: ActModel | None = None

    @property
    def _llm_type(self) -> str:
        return "dialogpaint-local-policy"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tool schemas (any format ``bind_tools`` accepts); they arrive in ``_generate``."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = {t["function"]["name"]: t for t in kwargs.get("tools") or []}
        model = (self.act_model or shipped()) if self.learned else None
        message = policy_answer(messages, tools, facts_in(run_manager.metadata if run_manager else None), model)
        return ChatResult(generations=[ChatGeneration(message=message)])


def policy_answer(
    messages: Sequence[BaseMessage],
    tools: dict[str, dict[str, Any]],
    facts: DialogueFacts | None = None,
    model: ActModel | None = None,
) -> AIMessage:
    """The policy: one decision for the latest user message, from the first layer of ``layers`` that decides.

    Args:
        facts: what the system prompt tells a served model, as data (None: a fresh session with no
            generative tool and nothing pending).
        model: the act model; None decides with the rules alone.
    """
    if not messages or isinstance(messages[-1], ToolMessage):
        # Our calls are valid by construction; an error here means a tool was refused or missing.
        return AIMessage(replies.CONFUSED)
    ctx = read_context(messages, tools, facts)
    decision = next(d for layer in layers(model) if (d := layer(ctx)) is not None)
    text = decision.text or ctx.note or replies.CONFUSED  # never an empty answer
    return AIMessage(content=text if not ctx.calls else "", tool_calls=ctx.calls)


def layers(model: ActModel | None) -> list[Callable[[Context], Decision | None]]:
    """The policy's precedence, first to last: each layer decides (queues calls or says something) or passes."""
    last: Callable[[Context], Decision | None] = respond if model is None else partial(respond_learned, model=model)
    return [which_one_answer, nothing_applied, last]


def which_one_answer(ctx: Context) -> Decision | None:
    """The answer to our which-one question (graphs/nodes/disambiguate.py): the held-up edit, narrowed."""
    return from_calls(ctx) if answer_referent(ctx.messages, ctx.text, ctx.call) else None


def nothing_applied(ctx: Context) -> Decision | None:
    """'undo' or 'back to the original' when no edit was ever applied says so plainly."""
    if ctx.edit_count == 0 and not ctx.pending and dialogue_act(ctx.text) == "undo":
        return Decision("chat", replies.nothing_applied(ctx.last_failed))
    return None


def respond(ctx: Context) -> Decision:
    """The rules' decision: the first of ``RULES`` that decides (the last one always does)."""
    words = Words.of(ctx.text)
    return next(d for rule in RULES if (d := rule(ctx, words)) is not None)


def from_calls(ctx: Context) -> Decision:
    """The act the queued calls make, in the act model's labels."""
    said_no, rest = strip_leading(NO, ctx.text)
    names = [c["name"] for c in ctx.calls]
    if not names and ctx.note:
        return Decision("chat", ctx.note)
    if "confirm_pending" in names:
        approve = next(c["args"].get("approve") for c in ctx.calls if c["name"] == "confirm_pending")
        return Decision("confirm_yes" if approve else "confirm_no")
    if names and names[0] == "ask_clarification":
        return Decision("clarify")
    if names and names[0] == "undo" and said_no and ctx.last_edit and dialogue_act(rest) != "undo":
        return Decision("confirm_no")  # 'no' to the edit just made takes it back ("no, take it back": an undo)
    if names and names[0] in ("undo", "redo"):
        return Decision(names[0])
    return Decision("edit")


def pending_answer(ctx: Context, w: Words) -> Decision | None:
    """A yes or no (or 'revert everything') while a proposal waits; a correction replaces it."""
    if not ctx.pending:
        return None
    if hesitant(ctx.text) or thanks_only(ctx.text):  # neither is consent, and neither is an instruction
        return Decision("chat", replies.still_waiting(ctx.pending_instruction, hesitating=hesitant(ctx.text)))
    if w.said_no or w.act == "undo":
        # 'revert everything' while an edit awaits a yes declines it; it is never an edit itself
        if w.act == "undo" or not w.after_no or not edit(ctx, w.after_no, previous=ctx.pending_instruction):
            ctx.calls.clear()
            ctx.call("confirm_pending", approve=False)
        return from_calls(ctx)
    if w.said_yes:
        ctx.call("confirm_pending", approve=True)
        if w.after_yes:
            edit(ctx, w.after_yes)
        return from_calls(ctx)
    return None


def recipe(ctx: Context, w: Words) -> Decision | None:
    """Forget one earlier edit, or re-render from the original."""
    if (found := recipe_request(ctx.text)) is None:
        return None
    ctx.call(found[0], **found[1])
    return from_calls(ctx)


def taken_back(ctx: Context, w: Words) -> Decision | None:
    """Edits named to take back: the latest ones an undo of that many steps, one in the middle a forget."""
    if (found := take_back(ctx.text, ctx.applied, ctx.last_turn_edits)) is None:
        return None
    ctx.call(found[0], **found[1])
    return from_calls(ctx)


def hesitation(ctx: Context, w: Words) -> Decision | None:
    """'hmm, not sure, let me think': answered in words, never read as an instruction."""
    return Decision("chat", replies.HESITATION_REPLY) if hesitant(ctx.text) else None


def undo_redo(ctx: Context, w: Words) -> Decision | None:
    """Undo or redo, with the step count the words give."""
    return step(ctx, w.act) if w.act in ("undo", "redo") else None


def capability_question(ctx: Context, w: Words) -> Decision | None:
    """'can you also remove the background?': whether it can and with what, and an offer; never the edit."""
    if (request := capability_request(ctx.text)) is None:
        return None
    tool = offer_tool(ctx, request)
    if tool is None:
        return Decision("chat", replies.needs_generative(runnable_examples(ctx), ctx.missing))
    ctx.call("ask_clarification", question=f"Yes: I can {request} with {tool}. Shall I?", options=[request])
    return from_calls(ctx)


def capability_yes(ctx: Context, w: Words) -> Decision | None:
    """A yes to that offer: the edit the question asked about (and anything said after the yes)."""
    if not (ctx.clarified_request and w.said_yes):
        return None
    if (request := capability_request(ctx.clarified_request, asked=True)) is None:
        return None
    edit(ctx, request)
    if w.after_yes:
        edit(ctx, w.after_yes)
    return from_calls(ctx)


def answer_to_question(ctx: Context, w: Words) -> Decision | None:
    """The answer to our clarifying question, folded into the request it completes."""
    if not ctx.clarified_request or w.said_no or w.act is not None:
        return None
    vague = find_vagueness(clean_instruction(ctx.clarified_request))
    answer = clean_instruction(ctx.text)
    if vague is not None and not (EDIT_VERB.match(answer) and edit(ctx, ctx.text)):
        edit(ctx, fold_answer(vague, ctx.clarified_request, answer))
        return from_calls(ctx)
    return from_calls(ctx) if ctx.calls else None


def again(ctx: Context, w: Words) -> Decision | None:
    """'more', 'again': the same adjustment once more strengthens it."""
    if not (ctx.last_edit and AGAIN.match(ctx.text)):
        return None
    edit(ctx, ctx.last_edit)
    return from_calls(ctx)


def answer_to_edit(ctx: Context, w: Words) -> Decision | None:
    """A yes (acknowledged) or a no (taken back, and the correction applied) to the edit just made."""
    if not ctx.last_edit or not (w.said_yes or w.said_no):
        return None
    if w.said_yes and not w.after_yes:
        return Decision("confirm_yes", replies.acknowledge(ctx.edit_count))
    if w.said_no:
        ctx.call("undo", steps=1)
        if w.after_no:
            edit(ctx, w.after_no, previous=ctx.last_edit)
        return from_calls(ctx)
    return None


def chat_act(ctx: Context, w: Words) -> Decision | None:
    """Help, a greeting, thanks, goodbye or a question: answered in words."""
    return Decision("chat", replies.chat(w.act, ctx.tools)) if w.act is not None else None


def nothing_to_cancel(ctx: Context, w: Words) -> Decision | None:
    """A bare 'no' with nothing to take back."""
    return Decision("chat", replies.NOTHING_TO_CANCEL) if w.said_no and not w.after_no else None


def edit_request(ctx: Context, w: Words) -> Decision | None:
    """An edit request: the calls for each clause, or one question about a vague one."""
    return from_calls(ctx) if edit(ctx, ctx.text) else None


def acknowledgement(ctx: Context, w: Words) -> Decision | None:
    """A bare 'yes' / 'great' with nothing waiting."""
    return Decision("confirm_yes", replies.acknowledge(ctx.edit_count)) if w.said_yes and not w.after_yes else None


def needs_generative(ctx: Context, w: Words) -> Decision | None:
    """An edit only a generative editor could make, and none is bound: say so, with what can run."""
    if ctx.generative or not EDIT_VERB.match(clean_instruction(ctx.text)):
        return None
    return Decision("chat", replies.needs_generative(runnable_examples(ctx), ctx.missing))


def unsure(ctx: Context, w: Words) -> Decision:
    """Nothing else fits: ask, offering edits that can run here."""
    ctx.call("ask_clarification", question=replies.UNSURE, options=runnable_examples(ctx))
    return from_calls(ctx)


# The rules' precedence, first to last (the order is the behaviour: a pending proposal's yes/no before
# anything else, commands before answers, answers before new requests, a question last).
RULES: list[Callable[[Context, Words], Decision | None]] = [
    pending_answer, taken_back, recipe, undo_redo, hesitation, capability_question, capability_yes,
    answer_to_question, again, answer_to_edit, chat_act, nothing_to_cancel, edit_request, acknowledgement,
    needs_generative, unsure,
]  # fmt: skip


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


def act_context(ctx: Context) -> ActContext:
    """The dialogue facts the act model reads."""
    return ActContext(
        asked=bool(ctx.clarified_request),
        applied=bool(ctx.last_edit),
        failed=bool(ctx.last_failed),
        pending=ctx.pending,
        can_undo=ctx.edit_count > 0,
    )


def rules_stand(ctx: Context, vote: str) -> bool:
    """Where the rules are right by construction, after the act model would run: commands, answers, parsed edits.

    Undo/redo and yes/no are parsed words with counts; an answer to our own question is folded into
    it; an edit that matched a CPU tool has parsed arguments. The act model decides the rest: free-form
    requests (generative edit, question or chat), which is where real users' words differ.
    """
    if vote in ("undo", "redo", "confirm_yes", "confirm_no") or ctx.clarified_request or ctx.pending:
        return True
    if (
        hesitant(ctx.text)
        or capability_request(ctx.text) is not None
        or (
            any(c["name"] in ("forget", "ask_clarification") for c in ctx.calls[:1])
            and (take_back(ctx.text, ctx.applied, ctx.last_turn_edits) is not None)
        )
    ):
        return True  # hesitation, and edits named to take back, are read by the rules
    vague = find_vagueness(clean_instruction(ctx.text))
    if vote == "clarify" and vague is not None and vague.kind in SURE_QUESTIONS:
        return True
    return vote == "edit" and all(c["name"] not in ctx.generative_tools for c in ctx.calls)


# Vague requests whose missing piece the rules name exactly (the content, the replacement, the destination),
# and evaluative requests ("make it look better", "improve it"): a question, whatever the act model says.
SURE_QUESTIONS = frozenset({"text", "fill", "destination", "change"})


def respond_learned(ctx: Context, model: ActModel) -> Decision:
    """The rules propose, the act model decides the act; the rules' decision stands when they agree."""
    decision = respond(ctx)
    if rules_stand(ctx, decision.act):
        return decision
    act = model.decide(decision_features(ctx.text, act_context(ctx), decision.act), decision.act)
    if act == decision.act:
        return decision
    ctx.calls.clear()
    return ACT_HANDLERS[act](ctx)


def do_edit(ctx: Context) -> Decision:
    """The model says edit: fold an answer, repeat, or run the request as it stands (no question)."""
    if ctx.clarified_request:
        vague = find_vagueness(clean_instruction(ctx.clarified_request))
        answer = clean_instruction(ctx.text)
        if (
            vague is not None
            and not EDIT_VERB.match(answer)
            and edit(ctx, fold_answer(vague, ctx.clarified_request, answer), trust=True)
        ):
            return Decision("edit")
    if ctx.last_edit and AGAIN.match(ctx.text):
        edit(ctx, ctx.last_edit)
        return Decision("edit")
    if edit(ctx, ctx.text, trust=True):
        return Decision("edit")
    if ctx.generative:
        ctx.call(ctx.generative, instruction=clean_instruction(ctx.text))
        return Decision("edit")
    return Decision("edit", replies.needs_generative(runnable_examples(ctx), ctx.missing))


def do_clarify(ctx: Context) -> Decision:
    """The model says the request is too vague: the rules' question if they have one, else a general one."""
    vague = find_vagueness(clean_instruction(ctx.text))
    if vague is not None:
        ask(ctx, vague)
    elif not ctx.generative and ctx.missing and EDIT_VERB.match(clean_instruction(ctx.text)):
        return Decision("chat", replies.needs_generative(runnable_examples(ctx), ctx.missing))  # nothing to ask
    else:
        ctx.call("ask_clarification", question=replies.UNSURE, options=runnable_examples(ctx))
    return Decision("clarify") if ctx.calls else Decision("chat", ctx.note)


def step(ctx: Context, act: str) -> Decision:
    """Undo or redo, the step count read by the rules."""
    ctx.call(act, steps=undo_steps(ctx.text, ctx.edit_count))
    return from_calls(ctx)


def do_answer(ctx: Context, approve: bool) -> Decision:
    """The model says yes or no: to the pending proposal, or to the edit just made."""
    act = "confirm_yes" if approve else "confirm_no"
    _, rest = strip_leading(YES if approve else NO, ctx.text)
    if ctx.pending:
        ctx.call("confirm_pending", approve=approve)
        if approve and rest:
            edit(ctx, rest)
        return Decision(act)
    if approve:
        return Decision(act, replies.acknowledge(ctx.edit_count))
    if not ctx.last_edit:
        return Decision(act, replies.NOTHING_TO_CANCEL)
    ctx.call("undo", steps=1)
    if rest:
        edit(ctx, rest, previous=ctx.last_edit)
    return Decision(act)


def do_chat(ctx: Context) -> Decision:
    """A plain reply: help, greeting, thanks, goodbye, or a question about something else."""
    return Decision("chat", replies.chat(dialogue_act(ctx.text) or "question", ctx.tools))


# What the act model's verdict runs when it overrules the rules (the rules' arguments, that act forced).
ACT_HANDLERS: dict[str, Callable[[Context], Decision]] = {
    "edit": do_edit,
    "clarify": do_clarify,
    "undo": lambda ctx: step(ctx, "undo"),
    "redo": lambda ctx: step(ctx, "redo"),
    "confirm_yes": lambda ctx: do_answer(ctx, approve=True),
    "confirm_no": lambda ctx: do_answer(ctx, approve=False),
    "chat": do_chat,
}


def edit(ctx: Context, text: str, previous: str = "", *, trust: bool = False) -> bool:
    """Queue edit calls for every clause (or one clarifying question); False if none is an edit.

    ``previous`` is the instruction being corrected ('no, make it blue instead'): a vague correction
    that names a colour is read as that instruction with the colour swapped. ``trust``: the act
    model decided this is an edit, so no clause is asked about.
    """
    found: list[tuple[str, dict[str, Any]]] = []
    for clause in clauses(text):
        instruction = clean_instruction(clause)
        if not instruction:
            continue
        vague = find_vagueness(instruction)
        if vague is not None and vague.kind == "change" and vague.subject != "evaluative" and match_cpu(instruction):
            vague = None  # 'make the tones cooler' names its change
        if trust:
            vague = None
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


def read_context(
    messages: Sequence[BaseMessage], tools: dict[str, dict[str, Any]], facts: DialogueFacts | None
) -> Context:
    """Extract the latest message, the session's facts and what the previous turn did."""
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    last = humans[-1] if humans else len(messages) - 1
    ctx = Context(text=normalize(str(messages[last].content)), tools=tools, messages=messages)
    ctx.pending = "confirm_pending" in tools
    if facts is not None:
        ctx.generative_tools = frozenset(facts["generative_tools"])
        ctx.edit_count = facts["edits_applied"]
        ctx.applied = [(e["tool"], e["instruction"]) for e in facts.get("applied", [])]
        ctx.missing = [dict(m) for m in facts.get("missing_tools", [])]
        proposal = facts["pending"]
        if proposal is not None:
            ctx.pending_instruction = "; ".join(e["args"].get("instruction", "") for e in proposal["edits"])
    previous = humans[-2] if len(humans) > 1 else -1
    for message in messages[previous + 1 : last]:
        if isinstance(message, AIMessage) and previous >= 0:
            if any(c["name"] == "ask_clarification" for c in message.tool_calls):
                ctx.clarified_request = normalize(str(messages[previous].content))
        elif (found := outcome(message)) is not None and found["kind"] == "edit" and "instruction" in found:
            ctx.last_edit = found["instruction"]
            ctx.last_turn_edits += 1
        elif found is not None and found["kind"] in ("failed", "skipped"):
            ctx.last_failed = found.get("instruction", "") or found["kind"]
    return ctx
