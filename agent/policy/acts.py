"""The act model's verdict: where the rules' decision stands, and the handlers that reply when it overrules them."""

from __future__ import annotations

from collections.abc import Callable

from agent.policy import replies
from agent.policy.act_model import ActModel
from agent.policy.capability import capability_request
from agent.policy.carry import waiting
from agent.policy.commands import dialogue_act, hesitant
from agent.policy.context import Context, Decision, act_context
from agent.policy.edits import AGAIN, ask, edit, runnable_examples
from agent.policy.learned import decision_features
from agent.policy.posts import evaluative_only, operation_request
from agent.policy.recipes import take_back
from agent.policy.rules import respond, step
from agent.policy.text import EDIT_VERB, NO, YES, clean_instruction, strip_leading
from agent.policy.vague import find_vagueness, fold_answer


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
    if vote == "clarify" and ((vague is not None and vague.kind in SURE_QUESTIONS) or evaluative_only(ctx.text)):
        return True
    if (vote == "clarify" and waiting(ctx.text) is not None) or (
        vote == "edit" and any(c["name"] == "ask_clarification" for c in ctx.calls)
    ):
        return True  # a vague clause beside others: the rules ask what it lacks, what follows it carried
    if vote == "edit" and operation_request(ctx.text):
        return True  # an operation named, and nothing the vague checks found missing: carried out as asked
    return vote == "edit" and all(c["name"] not in ctx.generative_tools for c in ctx.calls)


# Vague requests whose missing piece the rules name exactly (the content, the replacement, the destination),
# and evaluative requests ("make it look better", "improve it"): a question, whatever the act model says.
SURE_QUESTIONS = frozenset({"text", "fill", "destination", "change", "style", "add", "remove", "part"})


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
