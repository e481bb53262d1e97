"""Dialogue acts that are not edits: undo, redo, help, greetings, thanks, praise, questions."""

from __future__ import annotations

import re

from agent.policy.text import HEDGE, number_in
from tools.base import MAX_STEPS

UNDO = re.compile(
    r"\b(undo|un-do|revert|roll ?back|go back|step back|take (that|it|this) back|back up|"
    r"reverse (that|it|the last)|cancel (that|the last|it|my last)|forget (that|it|about (that|it)|the last|this|what i said)|"  # noqa: E501
    r"scratch that|never ?mind (that|the last)|(remove|drop|delete|discard|lose|ditch) (the|that|my) (last|previous|latest) "  # noqa: E501
    r"(edit|change|step|one|thing)s?|(remove|drop|delete|discard) (that|this) (edit|change)|"
    r"the way it was|how it was( before)?|(liked|prefer(red)?) (it|the (old|previous|last) (one|version)) better|"
    r"(it|that) was better before|previous (version|one)|(back|return) to (the )?(original|previous|start|beginning|"
    r"earlier|last) ?(version|one|image)?|start (over|again|from scratch)|(?<!got )(?<!was )(?<!been )reset|"
    r"restore the original|(want|need|give me|show me) (back )?the (original|initial) (image|version)|"
    r"(original|initial) (image|version) (back|again|please)|as it was|one step back|steps? back)\b"
)
REDO = re.compile(
    r"\b(redo|re-do|re-apply|reapply|undo (the|that|my) undo|bring (it|that|them|the last edit) back|"
    r"put (it|that|them) back|restore (it|that|the edit|the last edit|what i undid)|"
    r"(i )?(want|need) (it|that) back|go forward|step forward|forward again|changed my mind,? (put|bring))\b"
)
HELP = re.compile(
    r"\b(what can you do|help|how does (this|it) work|what (tools|edits|options|commands|features)|"
    r"what are you|who are you|how do i|what do you do|capabilities|what is this|what's this|how do you work|"
    r"what can i (say|ask|do)|what kind of|instructions|what are my options|what else can you)\b"
)
GREETING = re.compile(r"^(hi|hello|hey|good (morning|evening|afternoon|day)|yo|greetings|howdy|hiya)\b")
BYE = re.compile(r"^(bye|goodbye|good bye|bye bye|see you|see ya|that's all|thats all|i'm done|im done|done for now)\b")
THANKS = re.compile(r"\b(thanks|thank you|thx|cheers|appreciate it|ty|much appreciated)\b")
PRAISE = re.compile(
    r"^(cool|nice|wow|great|awesome|perfect|love it|i love it|looks (good|great|amazing|nice|perfect)|"
    r"beautiful|amazing|neat|sweet|excellent|brilliant|wonderful|fantastic|good job|well done|"
    r"that's (great|nice|cool|awesome|perfect|amazing|beautiful|lovely)|lovely|impressive|ha+|lol|haha)\b"
)
HESITATION = re.compile(
    r"^(?:(?:hmm+|um+|uh+|erm?|well|oh|so|wait|ok(?:ay)?)[,.!]*\s*)*(?:i'?m |i am )?"
    r"(?:(?:not (?:so |too |quite )?sure|unsure|"
    r"let me (?:think|see|check|decide)|i need to think|i'?ll think|thinking|i don'?t know|idk|dunno|"
    r"maybe later|not yet|hold on|give me a (?:sec(?:ond)?|minute|moment)|one (?:sec(?:ond)?|moment)|"
    r"just a (?:sec(?:ond)?|minute|moment)|let me get back to you)\b|(?:hmm+|um+|uh+)[.!?, ]*$)"
)
THANKS_ONLY = re.compile(
    r"^(?:ok(?:ay)?[,!. ]+)?(?:thanks|thank you|thx|ty|cheers|much appreciated|appreciate it)"
    r"(?: (?:so|very) much)?(?: a lot)?[!. ]*$"
)
QUESTION = re.compile(r"^(what|why|how|who|when|where|is|are|do|does|did|which|whats|what's)\b.*\?$")
_ALL_STEPS = re.compile(
    r"\b(original|start (over|again|from scratch)|reset|beginning|all( of)? (the |my )?(edits|changes)|everything|initial)\b"  # noqa: E501
)
# A help, a greeting or a thanks is the whole message: a post that says 'help me ...', opens with 'hello!'
# or ends on 'thank you' is a request wrapped in them ('hello! would you please edit the teeth?').
SOCIAL_WORDS = 8
_ASKING = re.compile(
    r"\?|\b(?:please|(?:would|'d)(?: \w+)? (?:like|love|appreciate)|looking to|hoping|wish|fix|"
    r"(?<!your )(?<!the )(?<!will )(?<!for )help|someone|somebody|anyone|anybody|would be|should (?:be|look)|"
    r"(?:can|could|would|will|may) (?:you|one of you|i (?:get|have)|it|this|these|those|the|he|she|they|we|be)|"
    r"(?:want|need)s? (?:you|it|the|this|a|an|my|his|her|them|to be))\b"
)
# A comparative asks for the change ('plain background, and clearer. thanks') unless it says how the result
# looks now ('thanks, that looks better', 'much clearer now').
_WANTED = re.compile(r"\b(clear|sharp|bright|dark|light|bett|nic|cool|crisp|smooth)er\b")
_RESULT = re.compile(r"\b(looks?|is|it'?s|that'?s|much|way|so|far|lot|now|already)\b")


def asking(text: str) -> bool:
    """Whether a message with thanks in it asks for something besides: a request's form, or a change wanted."""
    return bool(_ASKING.search(text) or (_WANTED.search(text) and not _RESULT.search(text)))


_EDIT_WORDS = re.compile(r"\b(make|turn|add|remove|change|rotate|flip|crop|blur|sharpen|brighter|darker|into)\b")


def dialogue_act(text: str) -> str | None:
    """The non-edit act of a message, or None when it should be read as an edit request."""
    if QUESTION.match(text) and not re.match(r"^(can|could|would|will) you\b", text):
        return "help" if HELP.search(text) or re.search(r"\b(undo|redo|tools?|edit)\b", text) else "question"
    if REDO.search(text) and not re.search(r"\b(undo|go back)\b(?! (the|that|my) undo)", text):
        return "redo"
    if UNDO.search(text):
        return "undo"
    short = len(text.split()) <= SOCIAL_WORDS
    if HELP.search(text) and not re.match(r"^(can|could|would|will) you\b(?! help)", text) and short:
        return "help"
    if _EDIT_WORDS.search(text):
        return None
    if GREETING.match(text) and short:
        return "greeting"
    if BYE.match(text):
        return "bye"
    if THANKS.search(text) and not asking(THANKS.sub(" ", text)):
        return "thanks"
    if PRAISE.match(text):
        return "praise"
    if QUESTION.match(text):
        return "question"
    return None


# A doubt ('not sure if ...') and what the message says after it.
_DOUBT = re.compile(
    r"\b(?:not sure|unsure|i don'?t know|idk|dunno) (?:if|whether|how|what|why)\b.*?(?:[,.;!?]+\s*|\s+but\s+|$)"
    r"(?P<rest>.*)$"
)


def hesitant(text: str) -> bool:
    """Whether the message only hesitates ('hmm, not sure, let me think'): never consent, never an instruction.

    'not sure if it's possible, but could you ...' is a hedge around the request after it, not a hesitation.
    """
    if not HESITATION.match(text) or re.search(r"\b(yes|yeah|sure,? go|go ahead|do it)\b", text):
        return False
    doubt = _DOUBT.search(text)
    if HEDGE.match(text) or (doubt and doubt.group("rest") and not HESITATION.match(doubt.group("rest"))):
        return False  # 'not sure if this can be done, but could you ...', 'not sure if anything can be done, me
        # and my uncle in 1999': a hedge before what the user wants; 'not sure if i want that' doubts what waits
    return not (_EDIT_WORDS.search(text) or UNDO.search(text) or REDO.search(text))  # "not sure, make it warmer"


def thanks_only(text: str) -> bool:
    """Whether the message is only thanks ('thanks!'): polite, but not a yes to a pending proposal."""
    return bool(THANKS_ONLY.match(text))


def undo_steps(text: str, edit_count: int) -> int:
    """How many steps an undo or redo asks for: a number, 'all' (back to the original), or 1."""
    if _ALL_STEPS.search(text) and re.search(r"\b(undo|back|revert|return|reset|start|restore|original)\b", text):
        return max(1, edit_count)
    words = re.sub(r"\b(a|an)\b", " ", text)
    number = number_in(words)
    return max(1, min(MAX_STEPS, number)) if number is not None else 1
