"""The rules' layers, in precedence order: each reads the turn and decides (queueing calls) or passes."""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.policy import replies
from agent.policy.capability import capability_request
from agent.policy.carry import carried, complete
from agent.policy.commands import hesitant, thanks_only, undo_steps
from agent.policy.context import Context, Decision, Words, from_calls
from agent.policy.edits import AGAIN, ask, edit, offer_tool, runnable_examples
from agent.policy.lexicon import match_cpu
from agent.policy.posts import evaluative_only, more_of, operation_request, operation_sentence, sentences
from agent.policy.recipes import recipe_request, take_back
from agent.policy.text import EDIT_VERB, clauses, clean_instruction
from agent.policy.vague import COMPLAINT, find_vagueness, fold_answer, what_to_change


def respond(ctx: Context) -> Decision:
    """The rules' decision: the first of ``RULES`` that decides (the last one always does)."""
    words = Words.of(ctx.text)
    return next(d for rule in RULES if (d := rule(ctx, words)) is not None)


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
    if not ctx.clarified_request or w.said_no or w.act is not None or (w.said_yes and not w.after_yes):
        return None  # a bare 'yes' answers no open question ('Which way should I rotate it?'): no instruction
    request = carried(ctx.asked_chain)  # a request of several clauses waits on this answer
    if request is not None and (completed := complete(request, ctx.text)) is not None:
        edit(ctx, completed)
        return from_calls(ctx)
    vague = find_vagueness(clean_instruction(ctx.clarified_request))
    answer = clean_instruction(ctx.text)
    if (more := more_of(answer)) and edit(ctx, more):  # 'enhance the brightness': more of a property
        return from_calls(ctx)
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
    """A yes (acknowledged) or a no (taken back, and the correction applied) to the edit just made.

    A bare no after a reply that closed on our question ('Done: make it brighter. Which way should I
    rotate it?') answers the question: the rest of the request is dropped, the edit made stays.
    """
    if not ctx.last_edit or not (w.said_yes or w.said_no):
        return None
    if w.said_no and not w.after_no and ctx.clarified_request:
        return None
    if w.said_yes and not w.after_yes:
        return Decision("confirm_yes", replies.acknowledge(ctx.edit_count))
    if w.said_no:
        ctx.call("undo", steps=1)
        if w.after_no:
            edit(ctx, w.after_no, previous=ctx.last_edit)
        return from_calls(ctx)
    return None


def requested(text: str) -> str:
    """The sentences of a post that ask for something: the first that names an operation, and any other
    that states a complaint, in the order said. A complaint that names its fix is an edit of its own
    ('the file is too big to send': halve the size; 'it's the wrong way round, like a mirror image':
    flip); one about a part ('the background is boring') is asked about, unless the operation refers
    back to it ('the girl in the back is distracting. could someone remove her?': the complaint is the
    removal's reason). The story and the thanks around them are left out.
    """
    first = operation_sentence(text)
    refers_back = bool(BACK_REFERENCE.search(first))
    kept = [s for s in sentences(text) if s == first or (kind := complaint(s)) == "fix" or (kind and not refers_back)]
    return "; ".join(s.rstrip(" .!?") for s in kept) or first


# A statement about the picture ('the file is too big', "it's the wrong way round"): where complaints live.
STATEMENT = re.compile(r"\b(is|are|was|were|looks?|feels?|seems?)\b|'s\b")
BACK_REFERENCE = re.compile(r"\b(her|him|them|those|these|that one|this one)\b")  # not "it": the image


def complaint(sentence: str) -> str | None:
    """'fix' for a complaint that names its fix, 'part' for one about a part that names none, else None."""
    if not STATEMENT.search(sentence):
        return None  # 'additional enhancements (lighting, cropping) welcome': a list, no complaint
    said = [clean_instruction(c) for c in clauses(sentence)]
    if any(c and match_cpu(c) is not None for c in said):
        return "fix"
    return "part" if any(c and COMPLAINT.fullmatch(c) for c in said) else None


POST_WORDS = 6  # a message this long that names an operation but opens with no edit verb is a wrapped request


def request_post(ctx: Context, w: Words) -> Decision | None:
    """A real user's post (agent/policy/posts.py): an evaluative goal only is asked about.

    An operation named inside a story, a 'help me' or a thanks is carried out (the sentence that names it).
    """
    if (more := more_of(clean_instruction(ctx.text))) and edit(ctx, more):
        return from_calls(ctx)  # 'enhance the color of the image': more of a property, before 'enhance' alone
    if evaluative_only(ctx.text):
        ask(ctx, what_to_change())
        return from_calls(ctx)
    if not operation_request(ctx.text) or (w.act is None and EDIT_VERB.match(clean_instruction(ctx.text))):
        return None  # an instruction that opens the message: the edit rules read it as it stands
    if edit(ctx, requested(ctx.text)) or edit(ctx, ctx.text):
        return from_calls(ctx)
    if w.act is None and len(ctx.text.split()) < POST_WORDS:
        return None  # 'resize it', 'do something about the saturation': short, and missing its value
    if ctx.generative:
        ctx.call(ctx.generative, instruction=clean_instruction(operation_sentence(ctx.text)))
        return from_calls(ctx)
    return Decision("chat", replies.needs_generative(runnable_examples(ctx), ctx.missing))


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
    answer_to_question, again, answer_to_edit, request_post, chat_act, nothing_to_cancel, edit_request,
    acknowledgement, needs_generative, unsure,
]  # fmt: skip


def step(ctx: Context, act: str) -> Decision:
    """Undo or redo, the step count read by the rules."""
    ctx.call(act, steps=undo_steps(ctx.text, ctx.edit_count))
    return from_calls(ctx)
