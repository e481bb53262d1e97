"""Spotting requests too vague to execute, the question to ask, and folding the answer back in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.policy.lexicon import match_cpu
from agent.policy.posts import DEFECT
from agent.policy.text import EDIT_VERB
from agent.policy.vocabulary import COLOR_WORD, GENERIC

EVALUATIVE = set(
    [
        "better",
        "nicer",
        "prettier",
        "beautiful",
        "more",
        "good",
        "great",
        "nice",
        "cool",
        "cooler",
        "awesome",
        "amazing",
        "interesting",
        "different",
        "else",
        "special",
        "professional",
        "fancier",
        "fancy",
        "appealing",
        "attractive",
        "stunning",
        "perfect",
        "best",
        "fun",
        "funny",
        "creative",
        "artistic",
        "unique",
        "improved",
        "improve",
        "fix",
        "fixed",
        "enhance",
        "enhanced",
        "new",
        "fresh",
        "cleaner",
        "polished",
        "right",
        "correct",
        "wow",
        "epic",
        "lovely",
        "gorgeous",
        "striking",
        "dramatic",
        "something",
        "anything",
        "stuff",
        "things",
        "whatever",
        "somehow",
        "real",
        "realistic",
        "pro",
        "pretty",
        "presentable",
        "quality",
        "general",
        "needed",
        "edits",
    ]
)
VAGUE_VERBS = re.compile(
    r"^(change|modify|edit|alter|transform|redo|tweak|update|improve|enhance|fix|touch up|clean up|"
    r"retouch|spice up|jazz up|do something|do anything|play with|mess with|work on|rework|make|turn|"
    r"adjust|correct|polish|beautify|upgrade|surprise me|do your (thing|magic)|whatever)\b"
)
PRONOUN = r"(it|this|that|them|things|everything in it)"
TEXT_NOUN = (
    r"(text|words?|writing|a caption|caption|a title|title|a label|label|a name|name|a quote|quote|a message|"
    r"message|lettering|a slogan|slogan)"
)
OBJECT = r"(it|this|that|him|her|them|the [a-z]+( [a-z]+)?|his [a-z]+|her [a-z]+|my [a-z]+|their [a-z]+)"
# Openings that only judge ("make it pop", "spice it up"): they name no change, whatever a tone word says.
EVALUATIVE_ONLY = re.compile(
    r"(make |can you make |could you make )?(it|this|the (image|photo|picture|pic|shot))( look)? (pop|stand out|"
    r"more (interesting|exciting|eye-catching|striking|dynamic|engaging|appealing|special)|less boring|"
    r"come alive|wow|shine|better|nicer|prettier)( more| a bit| a little)?|(spice|jazz|liven|punch|pep) "
    r"(it|this|things|the (image|photo|picture) )?( ?up)( a bit| a little)?|give it (some )?(pizzazz|oomph|wow|life)"
)
# Swapping two things' places: explicit (the instruction names both), never a replacement.
SWAP = re.compile(
    r"(swap|switch|exchange|trade)( around)? (the (positions?|places|spots|locations) of )?(?!to |it |out )(?P<a>.+?) "
    r"(and|with) (?P<b>.+?)( around| over| places| positions| spots)?|(swap|switch|exchange|trade) (the )?"
    r"(positions?|places|spots|locations) of (the )?(two|both) [a-z]+( [a-z]+)?( around)?"
)
# A complaint about a part that names no fix ("the background is boring", "the hat looks cheap").
COMPLAINT = re.compile(
    r"(?P<x>(the|this|that|my|his|her|their) [a-z ]+?) (is|are|looks?|feels?|seems?)( a bit| so| too| really| kind of| "
    r"just| a little| rather)* (boring|dull|plain|bland|empty|ugly|distracting|cheap|off|weird|wrong|meh|lifeless|"
    r"not right|tacky|awful|bad)( to me)?|(?P<y>(the|this|that|my|his|her|their) [a-z ]+?) (does ?n[o']?t|do ?n[o']?t) "
    r"look (right|good)( in (that|this) colou?r)?|"
    r"i'?m (tired|sick) of (seeing |looking at )?(?P<z>(the|this|that) [a-z ]+?)"
    r"( there| in it| in the (picture|photo|image))?"
)
# Where a thing goes ('to the bottom', 'on his shirt'): a place, never the content itself.
PLACE = r"( (to|on|in|at|onto|into|above|below|under|across|near|along|over|behind|around|next to|beside|by) [a-z' ]+)"
# A style asked for without naming it ('give it a different look', 'apply a filter').
STYLE = re.compile(
    r"(give|apply|add|use|put|try)( it| this| the image| on it)? (a |an |some )?(different |new |other |another |"
    r"cool |nice |fun |interesting |better |random )?(style|look|filter|effect|vibe|aesthetic|makeover|treatment)"
    r"( on it| to it| on the image| to the image)?|(change|switch) (the )?(style|look|filter|aesthetic)"
    r"( of (it|the image|this))?"
)
SIZE_SUBJECT = re.compile(r"(image |photo |picture |file )?(size|dimensions|resolution|width|height)")
WHOLE_IMAGE = re.compile(r"\b(whole|entire|everything|all of it|overall|the image|full image|all over|every ?thing)\b")


@dataclass(frozen=True)
class Vague:
    """Why a request cannot be executed yet, the question to ask, and how to read the answer."""

    # change | target | value | fill | text | destination | add | remove | part | rotate | crop | size | direction
    # | style
    kind: str
    question: str
    options: tuple[str, ...]
    subject: str = ""  # colour for 'target', object for 'value', property for 'direction'
    verb: str = ""


def what_to_change(subject: str = "evaluative") -> Vague:
    """The question for a request that names no change at all ('make it look better', 'clean up this image')."""
    return Vague("change", "What would you like me to change?",
                 ("make it brighter", "make it black and white", "give it a vintage look",
                  "turn it into a watercolor painting"), subject=subject)  # fmt: skip


def content_words(text: str) -> list[str]:
    """Words that are neither generic nor evaluative."""
    words = re.findall(r"[a-z][a-z'-]*", text)
    return [w for w in words if w not in GENERIC and w not in EVALUATIVE]


def find_vagueness(clause: str) -> Vague | None:
    """A Vague if the clause lacks the target, the value or the change itself; None if explicit."""
    if EVALUATIVE_ONLY.fullmatch(clause):
        return Vague("change", "What would you like me to change?",
                     ("make it brighter", "make it black and white", "give it a vintage look",
                      "turn it into a watercolor painting"), subject="evaluative")  # fmt: skip
    if m := COMPLAINT.fullmatch(clause):
        thing = m.group("x") or m.group("y") or m.group("z")
        whole = re.fullmatch(r"(the|this|that|my) (image|photo|picture|pic|shot|whole thing)", thing)
        return Vague("change", f"What would you like me to change about {'it' if whole else thing}?",
                     ("make it brighter", "make it black and white", "give it a vintage look",
                      "turn it into a watercolor painting"), subject="evaluative")  # fmt: skip
    if SWAP.fullmatch(clause) and not re.search(r"\b(something|anything)\b", clause):
        return None  # 'swap the dog and the cat': both named, a swap of places
    if m := re.fullmatch(
        rf"((make|turn|paint|color|change|recolor|dye|do) {PRONOUN}( all| completely)?( to| into| in)?|(can|could) {PRONOUN} be) (?P<c>{COLOR_WORD})",  # noqa: E501
        clause,
    ):
        color = m.group("c")
        return Vague("target", f"Which part should become {color}: the whole image (a {color} tint) or a "
                     "specific object?", (f"the whole image, as a {color} tint", "a specific object (which one?)"),
                     subject=color)  # fmt: skip
    if m := re.fullmatch(
        r"(change|alter|modify|switch|swap|redo|fix|edit|adjust|update|replace) (the |my |his |her |their )(?P<x>[a-z ]+?)( color| colors)?",  # noqa: E501
        clause,
    ):
        thing = m.group("x")
        if re.search(r"\b(with|to|into|for|by|so|towards?|like|looks?|out|away)\b", thing):
            thing = ""  # the value is given ('replace the dog with a cat'), or a removal ('edit the car out')
        if m.group(1) in ("fix", "correct") and DEFECT.search(thing):
            thing = ""  # a repair names its change: 'fix the blown out highlights', 'fix the color balance'
        if thing in ("brightness", "contrast", "saturation", "exposure", "temperature", "warmth"):
            return Vague("direction", f"Should the {thing} go up or down?", ("up", "down"), subject=thing)
        if thing and content_words(thing) and thing not in ("image", "whole image"):
            verb = "replace" if m.group(1) in ("replace", "swap", "switch") else "change"
            asked = "be replaced with" if verb == "replace" else "become"
            return Vague("value", f"What should the {thing} {asked}?", (), subject=thing, verb=verb)
    if m := re.fullmatch(
        rf"(add|put|write|insert|place|include|type)( in| on)? (some |a |an |the |my |his |her |their )?"
        rf"(?P<x>{TEXT_NOUN})({PLACE}| here| somewhere)?|(write|type) (something|anything|a few words){PLACE}?",
        clause,
    ):
        thing = m.group("x") or "text"
        return Vague("text", f"What should the {thing} say, and where should it go?", (), subject=thing)
    if m := re.fullmatch(
        rf"(?P<v>replace|swap|change|switch|turn|make) (?P<x>{OBJECT}) (with|to|for|into) (something|anything)"
        r"( else| different| new| cool| nice| nicer| better| prettier| more [a-z]+)?",
        clause,
    ):
        thing = m.group("x")
        asked = "be replaced with" if m.group("v") in ("replace", "swap", "switch") else "become"
        return Vague("fill", f"What should {thing} {asked}?", (), subject=thing, verb=m.group("v"))
    if m := re.fullmatch(
        rf"(?P<v>move|shift|put|place|relocate|drag) (?P<x>{OBJECT})( (somewhere|elsewhere|somewhere else|"
        r"else ?where|to (a|another|some) (different |other |new |better )?(place|spot|position|location)))?",
        clause,
    ):
        thing = m.group("x")
        if m.group("v") in ("put", "place") and not m.group(3):
            return None
        return Vague("destination", f"Where should I move {thing} to?", (), subject=thing, verb=m.group("v"))
    if re.fullmatch(rf"(add|put|insert|draw|place|include)( in| on)? (something|anything|some ?thing( cool| fun| nice| new)?|stuff|more stuff|things|an object|some objects|more|(an?|some) (animal|object|thing|item|creature|decoration|accessory)s?)({PLACE}| here)?", clause):  # fmt: skip  # noqa: E501
        return Vague("add", "What should I add, and where?", ("a hat on the person", "a rainbow in the sky", "snow"))
    if re.fullmatch(
        r"(remove|delete|erase|get rid of|take out|take away|hide) (it|this|that|something|things|stuff|the thing|that thing|some ?thing)",  # noqa: E501
        clause,
    ):
        return Vague("remove", "What should I remove?", ())
    if m := re.fullmatch(
        r"(?P<v>blur|pixelate|sharpen|brighten|darken|hide|cover up) (that|that part|that area|there)", clause
    ):
        return Vague("part", f"Which part should I {m.group('v')}?", (), verb=m.group("v"))
    if m := re.fullmatch(r"make (that|this) (part|area|bit|spot|region|side|corner) (?P<a>brighter|darker|lighter|sharper|blurrier)", clause):  # fmt: skip  # noqa: E501
        verbs = {"brighter": "brighten", "lighter": "lighten", "darker": "darken", "sharper": "sharpen"}
        return Vague("part", f"Which part should I make {m.group('a')}?", (), verb=verbs.get(m.group("a"), "blur"))
    if m := re.fullmatch(
        r"do something (about|with|to) the (?P<x>brightness|contrast|saturation|exposure|warmth|temperature)", clause
    ):
        thing = m.group("x")
        return Vague("direction", f"Should the {thing} go up or down?", ("up", "down"), subject=thing)
    if STYLE.fullmatch(clause):
        return Vague("style", "Which style or look would you like?",
                     ("black and white", "a vintage look", "turn it into a watercolor painting"))  # fmt: skip
    if re.fullmatch(r"(rotate|turn|spin)( it| the image)?( around| a bit| slightly)?", clause):
        return Vague("rotate", "Which way should I rotate it?", ("90° clockwise", "90° counter-clockwise", "180°"))
    if re.fullmatch(r"(crop|trim|cut)( it| the image)?( the (edges|borders?|sides))?( a bit| down| a little)?", clause):
        return Vague("crop", "Which part should I crop away, and how much?",
                     ("the left side", "the top quarter", "zoom in on the centre"))  # fmt: skip
    if re.fullmatch(r"(make )?(it|this) (bigger|smaller|larger|huge|tiny)", clause):
        return Vague("size", "Do you mean resizing the whole image, or making something in it bigger or "
                     "smaller (what)?", ("resize the whole image", "a specific object"),
                     subject=clause.rsplit(maxsplit=1)[-1])  # fmt: skip
    if VAGUE_VERBS.match(clause) and not content_words(VAGUE_VERBS.sub("", clause, count=1)):
        words = set(re.findall(r"[a-z]+", clause))
        if words & EVALUATIVE or len(words) <= 3 or not words - GENERIC - EVALUATIVE:
            return Vague("change", "What would you like me to change?",
                         ("make it brighter", "make it black and white", "give it a vintage look",
                          "turn it into a watercolor painting"))  # fmt: skip
    return None


def fold_answer(vague: Vague, original: str, answer: str) -> str:
    """Combine the vague request with the user's answer into one explicit instruction."""
    answer = re.sub(r"^(i mean|i meant|just|only|maybe|probably|um|uh|well|how about|let's say|"
                    r"the answer is|go with|let's go with|i'd say|i want)\s+", "", answer).strip()  # fmt: skip
    whole = bool(WHOLE_IMAGE.search(answer)) or answer in ("it", "all", "tint", "a tint")
    if vague.kind == "target":
        if whole:
            return f"give the whole image a {vague.subject} tint"
        return f"make {noun_phrase(answer)} {vague.subject}"
    if vague.kind == "value":
        answer = re.sub(r"^(to|into|with|by|for)\s+", "", answer)
        if SIZE_SUBJECT.fullmatch(vague.subject):  # '320 pixels wide', '200x100', 'half the size', '50%'
            for resized in (f"make it {answer}", f"resize it to {answer}"):  # the user's words first
                sized = match_cpu(resized)
                if sized is not None and sized.tool == "resize":
                    return resized
            return f"resize it to {answer}" if match_cpu(answer) is None else answer
        if vague.verb == "replace":
            return f"replace the {vague.subject} with {answer}"
        return f"change the {vague.subject} to {answer}"
    if vague.kind == "text":
        words = re.sub(r"^(it should say|say|saying|the text|write|it says|with)\s+", "", answer).strip(" '\"")
        return f"add the {vague.subject} '{words}'"
    if vague.kind == "fill":
        answer = re.sub(r"^(to|into|with|by|for)\s+", "", answer)
        joiner = {"replace": "with", "swap": "with", "switch": "with", "change": "to"}.get(vague.verb, "into")
        return f"{vague.verb} {vague.subject} {joiner} {answer}"
    if vague.kind == "destination":
        where = (
            answer
            if re.match(
                r"^(to|into|onto|on|in|at|toward|towards|behind|next|beside|near|closer|up|down|left|right|over|under)\b",
                answer,
            )
            else f"to {answer}"
        )
        return f"move {vague.subject} {where}"
    if vague.kind in ("add", "remove", "part"):
        thing = re.sub(r"^(add|remove)\s+", "", answer)
        return f"{vague.verb or vague.kind} {noun_phrase(thing) if vague.kind == 'part' else thing}"
    if vague.kind == "rotate":
        return f"rotate it {answer}"
    if vague.kind == "crop":
        return f"crop {answer}" if not answer.startswith(("crop", "zoom", "cut", "trim")) else answer
    if vague.kind == "size":
        if whole or "resize" in answer:
            return f"make the whole image {vague.subject}"
        return f"make {noun_phrase(answer)} {vague.subject}"
    if vague.kind == "direction":
        up = bool(re.search(r"\b(up|more|higher|increase|raise|brighter|stronger)\b", answer))
        return f"turn the {vague.subject} {'up' if up else 'down'}"  # the question's words: nothing rewritten
    return as_instruction(answer)


def noun_phrase(text: str) -> str:
    """'car' -> 'the car'; keeps an existing determiner."""
    text = text.strip()
    if re.match(r"^(the|a|an|my|his|her|their|its|this|that|these|those|all|both|every)\b", text):
        return text
    return f"the {text}"


def as_instruction(answer: str) -> str:
    """Read a bare answer ('brighter', 'a painting', 'winter') as an instruction about the image."""
    if EDIT_VERB.match(answer):
        return answer
    if re.match(r"^(a|an)\s", answer):
        return f"turn it into {answer}"
    if re.match(r"^(more|less|a bit|slightly|much|very|brighter|darker|warmer|cooler|black and white|"
                r"sharper|blurr|vintage|retro|sepia|grayscale)", answer) or answer.endswith(("er", "ish")):  # fmt: skip
        return f"make it {answer}"
    return f"make it look like {answer}"
