"""Text handling for the local policy: normalising, numbers, politeness, clauses, yes and no."""

from __future__ import annotations

import functools
import re

from agent.policy.indirect import indirect_request

NUMBER_WORDS = {
    "one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "couple": 2, "twice": 2, "three": 3,
    "thrice": 3, "few": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45,
    "fourty": 40, "sixty": 60, "ninety": 90, "hundred": 100,
}  # fmt: skip

_SPELLING = [
    (r"\bcolours?\b", lambda m: m.group(0).replace("colour", "color")),
    (r"\bgrey", lambda m: "gray"),
    (r"\bb ?& ?w\b|\bb/w\b", lambda m: "black and white"),
    (r"\bpic\b|\bpicture\b|\bphotograph\b|\bphoto\b|\bimg\b", lambda m: "image"),
    (r"\bpls\b|\bplz\b", lambda m: "please"),
    (r"\bu\b", lambda m: "you"),
    (r"\balot\b", lambda m: "a lot"),
]

_POLITE_START = re.compile(
    r"^(?:\[[a-z ]{2,12}\]\s*|request:\s*|(?:ok(?:ay)?|alright|all right|hey|hi|hello|so|now|well|hmm+|um+|uh+|great|"
    r"nice|cool|perfect|good|thanks|thank you|also|and|then|next|actually|oh|wow|sure|yes|yeah|yep|i mean)[,!.]?\s+|"
    r"right[,!.]\s+)+"  # 'right, crop it' is an acknowledgement; 'right sandwich hue plus 49' names a part
)
_POLITE_REQUEST = re.compile(
    r"^(?:(?:can|could|would|will) (?:you|someone|somebody|anyone|anybody|some one|any one)"
    r"(?: please| maybe| possibly| kindly)?(?: help(?: me)?(?: to| with| by)?)?\s+|please,?\s+|kindly\s+|"
    r"i(?:'d| would) (?:really )?(?:like|love)(?: (?:you|it if you))?(?: to)?(?: (?:please|could))?\s+|"
    r"(?:i|we) (?:want|need) (?:you )?to\s+|(?:i|we)(?:'m| am|'re| are) (?:looking|hoping) to\s+|"
    r"(?:a )?request to\s+|"
    r"(?:i(?: would|'d)? |would )?(?:greatly |really )?appreciate (?:it )?if (?:any(?:one| of you)|some(?:one|body))"
    r"(?: [a-z ]+?)? (?:could|can|would)\s+|i wanna\s+|let'?s\s+|try(?: to)?\s+|go ahead and\s+|"
    r"(?:maybe|perhaps|somehow)\s+|just\s+|help me\s+|now\s+|also\s+|then\s+|is it possible to\s+|"
    r"do you think you could\s+|how about(?: you)?\s+|what about\s+|(?:can|could) we\s+|we should\s+|"
    r"you should\s+|i think you should\s+|i'd prefer (?:you )?to\s+|time to\s+)+"
)
# A hedge before the request ('not sure if this is the place, but can someone ...', 'it might be hard, but
# could someone ...').
HEDGE = re.compile(
    r"^(?:[^.?!]{0,100}?,? )?but (?=(?:can|could|would|will|may) (?:you|someone|somebody|anyone|anybody|any of you|"
    r"one of you|some one|any one)\b|please\b|i'?d (?:like|love)\b)"
)
_POLITE_END = re.compile(
    r"(?:[,\s]+(?:please|for me|thanks|thank you|if you can|if possible|if you could|a bit more)|\s*[.!?]+|"
    r"\s*\[[a-z ]{2,12}\])+$"  # a flair tag at the end: 'cyclist removal [specific]'
)
_GERUNDS = {
    "adding": "add", "making": "make", "turning": "turn", "changing": "change", "removing": "remove",
    "putting": "put", "giving": "give", "replacing": "replace", "converting": "convert",
    "rotating": "rotate", "flipping": "flip", "cropping": "crop", "blurring": "blur",
    "sharpening": "sharpen", "brightening": "brighten", "darkening": "darken", "painting": "paint",
    "inverting": "invert", "resizing": "resize", "mirroring": "mirror", "erasing": "erase",
}  # fmt: skip


# Everyday phrasings of an edit, as the imperative the rules read ('take the bottles out' -> 'remove the
# bottles', 'slightly bring down the brightness' -> 'lower the brightness slightly').
_DEGREE = (
    r"(?:significantly|slightly|substantially|considerably|greatly|drastically|dramatically|strongly|subtly|gently)"
)
# The thing a request written as its result names: one to three words, none of them a verb or pronoun of a
# remark ('it's gone', 'all gone now') or a degree or adverb of one ('finally gone', 'over sharpened',
# 'way too brightened').
_THING = (
    r"^(?:the )?(?!.*\b(?:is|are|was|were|has|have|had|got|it|its|that|this|all|now|been|looks?|too|over|way|bit|"
    r"little|so|very|much|more|less|almost|still|not|just|already|\w{3,}ly)\b)([a-z]+(?: [a-z]+){0,2}) "
)
_REPHRASE: tuple[tuple[str, str], ...] = (
    (rf"^({_DEGREE}) (.+)$", r"\2 \1"),
    (r"^(?:take|get|cut|edit|photoshop|clone) (?!out\b|rid\b)(.+?),? out(?: of (?:the|this|my) (?:image|shot|frame))?$",
     r"remove \1"),
    (r"^(?:i )?need (.+?),? out of (?:the|this|my) image(?: .*)?$", r"remove \1"),
    (r"^cut out (.+)$", r"remove \1"),
    (r"^(?:turn|make|convert) (?:it|this|the image)(?: in)?(?:to)? (?:a )?colou?r(?:ed)? image$", "colorize the image"),
    (r"^(?:correct|fix) (?:the )?colou?rs?(?: balance)?(?: (?:of|in) (?:the|this|my) image)?$",
     "fix the color balance"),
    (r"^(?:the |a )?([a-z]+(?: [a-z]+)?) removal$", r"remove the \1"),
    (r"^(?:bring|turn|tone) down (the [a-z]+)", r"lower \1"),
    (r"^(?:bring|turn) up (the [a-z]+)", r"raise \1"),
    # A request written as its result ('reflection light gone', 'coloring brightened'); not a remark ('it's gone')
    (_THING + r"(?:gone|removed|erased|deleted)$", r"remove the \1"),
    (_THING + r"(brighten|darken|lighten|sharpen)ed$", r"\2 the \1"),
)  # fmt: skip


def normalize(text: str) -> str:
    """Lower case, plain quotes, one spelling (color, gray, image), single spaces, edit words spelt right."""
    text = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"\s+", " ", text).strip()
    for pattern, repl in _SPELLING:
        text = re.sub(pattern, repl, text)
    return re.sub(r"[a-z]{5,}", lambda m: spelt(m.group(0)), text)


# The words a request turns on, whose one-letter slips ('remova', 'rmove', 'saturnation', 'brigthness')
# real users make; and the real words one letter away from them, which stay as they are.
EDIT_WORDS = (
    "remove", "rotate", "replace", "brighten", "sharpen", "increase", "decrease", "darken", "lighten",
    "change", "convert", "enhance", "saturate", "desaturate", "straighten", "colorize", "enlarge", "erase",
    "delete", "adjust", "resize", "mirror", "invert", "saturation", "brightness", "contrast", "exposure",
    "lightness", "sharpness", "background", "vibrance", "temperature",
)  # fmt: skip
_REAL_WORDS = frozenset({
    "remote", "chance", "charge", "insert", "concert", "contract", "vibrancy", "tighten", "tightness", "rightness",
    "contrasty", "convent", "covert", "invest", "invent", "inert", "reside", "notate", "brighton",
})  # fmt: skip
_ENDINGS = ("s", "d", "r", "ed", "es", "er", "ing")


# The edit words a word of each length can be one slip from (a length at most one apart).
_NEAR = {n: tuple(w for w in EDIT_WORDS if abs(len(w) - n) <= 1) for n in range(1, max(map(len, EDIT_WORDS)) + 2)}


@functools.lru_cache(maxsize=4096)  # every message is normalised on each turn it is read back: words recur
def spelt(word: str) -> str:
    """The edit word a word is a one-letter slip of (an extra, missing, wrong or swapped letter); else the word.

    Inflections ('removed', 'changes') and the real words beside an edit word ('remote', 'chance') stay.
    """
    near = _NEAR.get(len(word), ())
    if not near or word in EDIT_WORDS or word in _REAL_WORDS or any(inflects(word, w) for w in EDIT_WORDS):
        return word
    return next((w for w in near if one_slip(word, w)), word)


def inflects(word: str, stem: str) -> bool:
    """Whether a word is a form of the stem ('removed', 'changes', 'darker', 'rotating')."""
    return any(word.startswith(base) and word[len(base) :] in _ENDINGS for base in (stem, stem[:-1]))


def one_slip(word: str, target: str) -> bool:
    """Whether two different words are one insertion, deletion, substitution or swap of neighbours apart."""
    if abs(len(word) - len(target)) > 1 or word == target:
        return False
    if len(word) == len(target):
        diff = [i for i in range(len(word)) if word[i] != target[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and word[diff[0]] == target[diff[1]]
            and word[diff[1]] == target[diff[0]]
        )
    short, long = sorted((word, target), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


# An indirect opening that names its change: 'I wish the sky were bluer' -> 'make the sky bluer'.
_WISH = (
    r"^(?:i wish|if only|it would be (?:nice|great|good|better|cool|lovely|awesome|perfect) if|"
    r"it'd be (?:nice|great|good|better|cool) if|i'?d (?:like|love|prefer) (?:it )?if|i would (?:like|love|prefer) "
    r"(?:it )?if) "
)


def unhedged(text: str) -> str:
    """The request after a hedge ('it might be hard, but could someone remove him' -> 'could someone remove
    him'); else ``text``. What comes before 'but' is no hedge when it is an instruction itself ('crop it but
    please keep the dog'): the whole clause stays.
    """
    m = HEDGE.match(text)
    return text[m.end() :] if m and not EDIT_VERB.match(_POLITE_START.sub("", m.group(0))) else text


def clean_instruction(clause: str) -> str:
    """Strip politeness and hedging so what is left reads as an imperative instruction."""
    text = clause.strip(" ,.;:!?\"'")
    previous = None
    while previous != text:
        previous = text
        text = unhedged(text)
        text = _POLITE_START.sub("", text)
        text = _POLITE_REQUEST.sub("", text)
        text = _POLITE_END.sub("", text).strip(" ,.;:!?\"'")
    if named := indirect_request(text):
        return named  # 'it's too dark' -> 'make it brighter'
    text = re.sub(
        r"^(?:i|we)(?: want| need| would like|'d like) (it|this|everything|the [a-z ]+?) to (?!be\b)(.+)$",
        r"make \1 \2",
        text,
    )
    for pattern, repl in _REPHRASE:
        text = re.sub(pattern, repl, text)
    words = text.split(" ", 1)
    if words and words[0] in _GERUNDS:
        text = " ".join([_GERUNDS[words[0]], *words[1:]])
    text = re.sub(r"^(?:i|we)(?: want| need| would like|'d like| prefer) (?!to\b)(.+)$", r"make \1", text)
    text = re.sub(r"^(?:what if|imagine if|imagine) (.+?) (?:was|were|is) (.+)$", r"turn \1 into \2", text)
    text = re.sub(_WISH + r"(.+?) (?:looked|would look|could look) (.+)$", r"make \1 look \2", text)
    text = re.sub(_WISH + r"(.+?) (?:was|were|is|would be|could be|got) (.+)$", r"make \1 \2", text)
    text = re.sub(r"^(.+?) (?:should|could|needs to|has to|must) be (.+)$", r"make \1 \2", text)
    text = re.sub(r"^(.+?) (?:should|needs to|has to|must) look (.+)$", r"make \1 look \2", text)
    return re.sub(r"\s+instead$", "", text).strip()


_CLAUSE_SPLIT = re.compile(
    r"\s*(?:;|,? and then|, then|\bthen\b|\balso\b|,? after that|\bplus\b|(?<=[a-z0-9%'\")])[.!?](?= [a-z]))\s+"
)  # a sentence end splits too: 'rotate it 90 degrees clockwise. it's too dark'
# Verbs an instruction starts with ('posterize it', 'write "hi" on the cake'): an answer or a clause that
# starts with one is an instruction already. Evaluative verbs ('improve', 'enhance') are not among them.
EDIT_VERB = re.compile(
    r"^(make|turn|change|replace|swap|switch|add|put|place|insert|remove|erase|delete|get rid of|take out|"
    r"give|paint|draw|write|convert|transform|let|have|show|dress|set|move|fill|cover|apply|color|recolor|"
    r"render|stylize|restyle|bring|hide|decorate|age|morph|transfer|fix|restore|colorize|repaint|"
    r"redraw|create|generate|include|cartoonify|animate|style|reimagine|swap out|clean|clear|dye|light|"
    r"illuminate|enlarge|shrink|extend|expand|widen|lengthen|shorten|fade|wipe|edit|adjust|increase|decrease|"
    r"raise|lower|reduce|boost|modify|alter|brighten|darken|lighten|photoshop|crop|rotate|straighten|flip|"
    r"mirror|blur|sharpen|invert|posterize|posterise|desaturate|tint|zoom|scale|resize)\b"
)
# Verbs that start a new clause after ' and ': every CPU tool's own verb and the common generative ones,
# not the verbs that are also adjectives or nouns there ('sharp and clear', 'bright and light').
_AND_VERB = (
    r"make|turn|add|remove|give|change|rotate|flip|crop|blur|sharpen|put|replace|increase|reduce|convert|apply|"
    r"resize|invert|mirror|brighten|darken|lighten|posterize|posterise|desaturate|tint|erase|delete|swap|paint|"
    r"straighten|enlarge|shrink|zoom|scale|boost|lower|raise|decrease|adjust|edit|fix|tweak|improve|enhance|"
    r"do something|then"
)
# An attribute set or shifted by a number ('the zebra on the right needs lightness modified by a value of -47',
# 'keyboard, brightness, 37', 'close giraffe saturation plus 47'): an explicit edit, whatever part it names.
ADJUSTMENT = re.compile(
    r"\b(?:lightness|brightness|saturation|hue|contrast|exposure|warmth|temperature|sharpness|luminance|vibrance)\b"
    r"[^.;!?\d]{0,80}?(?<![a-z])(?:[-+]|plus |minus )?\d+(?:\.\d+)?(?! ?(?:degrees?|°|px|pixels?|%|x\b))"
)
_AND_POLITE = r"(?:(?:can|could|would|will) you (?:please )?|please |also |then )?"  # 'and can you make it ...'

_PROTECTED = {"black and white": "black_and_white", "rock and roll": "rock_and_roll"}
# The things a 'get ... out of the image' lists are one removal: 'get the man in the middle, the man in
# the background, out of this image'.
_OUT_OF = re.compile(r"\b(?:get|take|need) [^.;!?]+ out of (?:the|this|my) (?:image|shot|frame)\b")
_COMMA = "_comma_"


_LISTED = re.compile(r"^\s*(?:and )?(?:the|a|an|this|that|these|those|his|her|their|my|our|some|all|both|any|out)\b")


def _listed(span: str) -> bool:
    """Whether the commas in a 'get ... out of the image' only list things ('the man in the middle, the man in
    the background'); never when they part instructions ('take the man out, brighten it, and get the dog out').
    """
    return all(_LISTED.match(part) for part in span.split(",")[1:])


def clauses(text: str) -> list[str]:
    """Split a message into instruction clauses on 'then', ';', 'also', and ', and' / ' and '."""
    for phrase, token in _PROTECTED.items():
        text = text.replace(phrase, token)
    text = _OUT_OF.sub(lambda m: m.group(0).replace(",", _COMMA) if _listed(m.group(0)) else m.group(0), text)
    parts = [p for p in _CLAUSE_SPLIT.split(text) if p.strip()]
    out: list[str] = []
    for part in parts:
        out.extend(
            p for p in re.split(rf",\s*(?:and\s+)?|\s+and\s+(?={_AND_POLITE}(?:{_AND_VERB})\b)", part) if p.strip()
        )
    restore = {v: k for k, v in _PROTECTED.items()} | {_COMMA: ","}
    return [re.sub("|".join(restore), lambda m: restore[m.group(0)], p).strip() for p in out]


def number_in(text: str) -> int | None:
    """The first number in the text, as digits or words ('two', 'a couple', 'twice')."""
    match = re.search(r"(-?\d+(?:\.\d+)?)", text)
    if match:
        return round(float(match.group(1)))
    for word in re.findall(r"[a-z-]+", text):
        if word in NUMBER_WORDS and word not in ("a", "an"):
            return NUMBER_WORDS[word]
    return None


YES = re.compile(
    r"^(?:(?:it |that |this )?(?:seems|looks|sounds) (?:right|good|fine|great|perfect|ok|okay) to me|"
    r"yes|yeah|yea|yep|yup|ya|sure|ok|okay|k|alright|all right|of course|absolutely|definitely|"
    r"certainly|correct|right|exactly|perfect|great|good|fine|sounds good|sounds great|looks good|"
    r"looks great|go ahead|go for it|do it|please do|please|that's right|that is right|that's it|"
    r"that's correct|that's perfect|that's great|that's good|that works|works for me|i agree|agreed|"
    r"confirm(?:ed)?|proceed|lgtm|love it|i love it|nice|awesome|cool|thank you|thanks|cheers|"
    r"much better|better|that's better|looks right|that's what i wanted|just right|spot on|indeed|"
    r"affirmative|why not|go on|do that|yes do it|make it so|apply it|keep it|lovely|exactly right|"
    r"thats (?:right|correct|it|fine|good|great|perfect)|that(?:'s| is) (?:fine|ok|okay|what i (?:meant|wanted))|"
    r"(?:it |that |this )?(?:seems|looks|sounds) (?:right|fine|ok|okay|perfect))"
    r"(?:[\s,.!]+|$)"
)
NO = re.compile(
    r"^(?:no|nope|nah|not really|not quite|don't|do not|dont|cancel|stop|wrong|that's wrong|"
    r"that is wrong|that's not (?:it|right|what i (?:wanted|meant|asked for))|not what i (?:wanted|meant)|"
    r"incorrect|never ?mind|no thanks|no thank you|hmm,? no|actually,? no|wait,? no|"
    r"i don't (?:like|want) (?:it|that|this)|that's bad|that looks (?:bad|wrong|terrible|awful)|"
    r"ugh|negative|hold on|wait|not that|skip it|forget it|don't do (?:it|that)|"
    r"i meant|or rather|i wanted (?:it|that)(?= [a-z]))"  # a correction: 'i meant darker', 'or rather purple'
    r"(?:[\s,.!]+|$)"
)


def strip_leading(pattern: re.Pattern[str], text: str) -> tuple[bool, str]:
    """Whether the text starts with (repeated) matches of the pattern, and the rest after them."""
    matched = False
    while (m := pattern.match(text)) and m.end() > 0:
        matched = True
        text = text[m.end() :]
    return matched, text.strip(" ,.!?;:-")
