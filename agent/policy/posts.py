"""Request posts: what a real user's whole message asks for, read sentence by sentence.

Real requests come wrapped ("[specific] my grandpa passed away last week. could one of you wizards
edit the guy out of this image? thanks!"): the instruction sits in one sentence of several and
rarely opens the message. Two readings decide the act the rules vote for such a message:

- an operation named anywhere (remove, edit out, crop, brighten, colourize, "make it look like ...")
  makes it a request to carry out, whatever the story and thanks around it;
- an evaluative goal only ("clean up this photo of my grandparents", "make it look better",
  "have fun with it", "help me touch this up") names no change: a question about what to change.

The normalised text is read (agent.policy.text.normalize: photo/picture -> image, colour -> color).
"""

from __future__ import annotations

import re

# An operation named (the change itself, or a defect to repair): any of these makes the message explicit.
OPERATION = re.compile(
    r"\b(remov\w*|eras\w*|delet\w*|get(?:ting)? rid|rid of|"
    r"(?:edit|shop|photoshop|take|took|taking|cut|crop|get|getting|clone|paint|blur|fade)\w* "
    r"[^.?!]{0,40}?\b(?:out|away)\b|"
    r"crop\w*|blur\w*|sharpen\w*|brighten\w*|darken\w*|lighten\w*|black and white|gr[ae]yscale|monochrome|"
    r"sepia|saturat\w*|contrast|brightness|exposure|hue|tint\w*|vignett\w*|rotat\w*|flip\w*|straighten\w*|"
    r"replac\w*|swap\w*|insert\w*|add(?:ing)? (?!something|anything|stuff|things)\w+|"
    r"(?:change|switch|swap) the (?:position|place|location)s? of|put (?:a|an|me|him|her|them|the|my|some|us)\b|"
    r"colori[sz]\w*|recolor\w*|invert\w*|"
    r"resiz\w*|enlarg\w*|zoom\w*|\d+ ?[x*] ?\d+|look(?:s|ing)? like|turn\w* (?:it|this|the \w+|me|him|her|them|us) "
    r"(?:into|to)|background (?:to|with)|(?:white|black|transparent|plain|different|new) background|restor\w*|"
    r"(?:more|less) (?:bright|dark|red|blue|green|yellow|saturated|colorful|vibrant|vivid)|warmer|cooler|"
    r"make [^.?!]{0,30}\b(?:white|black|blue|red|green|pink|purple|yellow|orange|brighter|darker|lighter|bigger|"
    r"smaller|taller|thinner|slimmer)|red ?eye|glare|reflection|"
    r"(?:fix|correct|repair|clean|touch|even)\w*(?: up)? [^.?!]{0,30}\b(?:stains?|scratch\w*|tears|rips|creases?|"
    r"spots|smudges?|blemish\w*|pimples?|highlights|over-?expos\w*|under-?expos\w*|shadows?|lighting|glare|"
    r"eyes?|teeth|blur\w*|noise|grain\w*|skin( tone)?s?|colors?|white balance)\b)"
)
# What a repair fixes: naming one of these says what to change ('fix the lighting').
DEFECT = re.compile(
    r"\b(colou?rs?|colou?r balance|white balance|lighting|light|exposure|highlights|shadows|eyes?|red ?eye|glare|"
    r"blur\w*|noise|grain|hue|skin|tint|stains?|scratch\w*|spots|smudges?|blemish\w*|reflection|teeth|"
    r"(?:over|under)-?expos\w*|irregularit\w*|wrinkles?|creases?|dust)\b"
)
# More of a property, said without a verb the edit rules read ('enhance brightness', 'needs more contrast').
MORE_OF = re.compile(
    r"(?:enhance|boost|more|needs?(?: more)?|add more|increase|bump up)(?: the)?(?: image)? "
    r"(?P<p>brightness|contrast|saturation|colors?|color saturation)"
    r"(?: and (?:the )?(?P<q>brightness|contrast|saturation|colors?))?(?: (?:of )?(?:the|this) image)?"
    r"(?: (?:a lot|alot|greatly|a little|a bit|slightly))?"
)
# An evaluative goal: improving the whole image without saying how.
EVALUATIVE_GOAL = re.compile(
    r"\b(clean\w*(?: (?:it|this|that|her|him|them))? ?up|touch\w*(?: (?:it|this|that|her|him|them))? ?up|"
    r"enhance\b|enhancing|improve\b|improving|fix(?:ing)?\b|retouch\w*|spruce\w* up|spice\w* up|jazz\w* up|"
    r"beautif\w*|clear\w* (?:it |this |the image )?up|"
    r"(?:be|look|get \w+(?: \w+)?) (?:a (?:bit|little|lot) |much |more )?(?:clearer|crisper|sharper|nicer|better)\b|"
    r"upgrade\b|polish\b|edit (?:it|this|that|the image|this image|my image|our image)\b|"
    r"make (?:it|this|the image|this image|my image|me|us|him|her|them)(?: look)?"
    r"(?: (?:a bit|a little|a lot|more|much))? "
    r"(?:better|nicer|prettier|clearer|cleaner|professional|awesome|cool|good|great|amazing|perfect|beautiful|"
    r"interesting|special|epic|presentable|\w+ ?worthy|pop)\b|(?:better|higher|hd|good|print) quality|"
    r"have (?:some )?fun|go wild|go crazy|(?:do|work) (?:your|some|any) magic|(?:be|get) creative|"
    r"do (?:whatever|anything|something|what(?:ever)? you)|(?:your|their) (?:own )?taste|surprise me|"
    r"help (?:me )?(?:with|on) (?:this|my|the|our) image|(?:do something|work) (?:with|on) (?:this|it|my image)|"
    r"look (?:a (?:bit|little|lot) )?(?:better|nicer|good|great|amazing|awesome|professional|beautiful)|"
    r"better version|(?:creative|editing|photoshop) skills|as you (?:wish|like|see fit|want)|"
    r"(?:anything|something) (?:you can|that can|can) (?:be )?do(?:ne)?|need help with (?:a|an|this|my) image|"
    r"can (?:this|it) be (?:cleaned|fixed|saved|salvaged|improved|restored))"
)
# A question about how to do it oneself ('how do i fix this in photoshop?'): not a request to edit.
HOW_TO = re.compile(
    r"^(what|why|which|who|where|when|how)\b|\b(how (do|can|would|should|to)|teach me|explain|tutorial|"
    r"any (tips|advice)|the best way)\b"
)
_SENTENCES = re.compile(r"(?<=[.?!])\s+|\s*\n+\s*")


def sentences(text: str) -> list[str]:
    """The message's sentences (split after . ? ! and at line breaks), flair tags and empty pieces dropped."""
    text = re.sub(r"^\s*(\[[^\]]{1,20}\]\s*)+", "", text)
    return [s.strip() for s in _SENTENCES.split(text) if s.strip()]


def names_operation(text: str) -> bool:
    """Whether any sentence of the message names a concrete operation."""
    return bool(OPERATION.search(text))


def operation_request(text: str) -> bool:
    """Whether the message asks for an operation it names (not how to do one oneself)."""
    return names_operation(text) and not HOW_TO.search(text.strip())


def operation_sentence(text: str) -> str:
    """The first sentence that names an operation (the message itself if none does)."""
    return next((s for s in sentences(text) if OPERATION.search(s)), text)


def more_of(instruction: str) -> str | None:
    """'enhance brightness' -> 'increase the brightness' (a cleaned instruction); None if it is not one."""
    m = MORE_OF.fullmatch(instruction)
    if m is None:
        return None
    said = [p for p in (m.group("p"), m.group("q")) if p]
    return " and ".join("make the colors more vivid" if p in ("color", "colors") else f"increase the {p}" for p in said)


def evaluative_only(text: str) -> bool:
    """Whether the message asks for an improvement and names no operation ('can someone clean up this image?')."""
    if names_operation(text) or HOW_TO.search(text.strip()):
        return False
    return bool(EVALUATIVE_GOAL.search(text))
