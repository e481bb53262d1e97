"""Matching a clause to a CPU tool call: the rules for looks and tone, the rule order, and what a
match leaves over (the shared words are in ``agent.policy.vocabulary``, geometry in ``agent.policy.geometry``).
"""

from __future__ import annotations

import re
from typing import Any

from agent.policy.geometry import crop, flip, resize, rotate
from agent.policy.vocabulary import (
    COLOR_FORMS,
    COLOR_WORD,
    COLORS,
    GENERIC,
    LARGE,
    SMALL,
    Match,
    Rule,
    degree,
    keyword_rule,
)

_GRAYSCALE = keyword_rule(
    "grayscale",
    (
        r"\b(black[ _]and[ _]white|gray ?scale|monochrome?|mono|colorless|noir|"
        r"(remove|drop|take out|strip|get rid of) (all )?(the )?colors?|no colors?|without colors?|"
        r"desaturate (it |the image )?(completely|fully|entirely|all the way))\b"
    ),
)
# 'from black and white to colour' asks for the opposite: colour put in, which only a generative editor can do.
_TO_COLOR = re.compile(
    r"\bfrom black[ _]and[ _]white\b|\b(?:to|into) (?:a )?(?:full )?colou?r(?:ed|ful)?\b|\bcolori[sz]"
)


def grayscale(text: str) -> Match | None:
    """Black and white: colour taken out."""
    return None if _TO_COLOR.search(text) else _GRAYSCALE(text)


sepia = keyword_rule("sepia", r"\bsepia( ton(e|ed|ing))?\b")
invert = keyword_rule("invert", r"\b(invert(ed)?( the)?( colors?)?|negative|inverse colors?|reverse the colors)\b")
vintage = keyword_rule(
    "vintage",
    (
        r"\b(vintage|retro|old[- ]fashioned|old[- ]school|old (image|film|movie|camera)|"
        r"(19)?[2-8]0'?s (look|style|vibe|feel|image)|faded film|film look|aged|antique|nostalgic|"
        r"polaroid|analog(ue)? (film|look)|look old|look older|older looking|weathered)\b"
    ),
    ("strength", 0.5, 0.8, 1.0),
)
vignette = keyword_rule(
    "vignette",
    r"\b(vignett(e|ing)|dark(en|er)? (the )?(corners|edges|borders)|(corners|edges) dark(er)?)\b",
    ("strength", 0.3, 0.5, 0.8),
)
sharpen = keyword_rule(
    "sharpen",
    (
        r"\b(sharpen(ed)?|sharper|crisper|crisp|more detail(ed|s)?|enhance (the )?details|"
        r"(less|un|de)[- ]?blur(ry|red)?|remove (the )?blur|reduce (the )?blur|clearer|more defined|"
        r"in focus|more focus(ed)?|focus)\b"
    ),
    ("amount", 0.8, 1.5, 3.0),
)


def posterize(text: str) -> Match | None:
    """Few flat colour levels."""
    m = re.search(r"\b(posteri[sz]e[d]?|poster(-| )?(effect|look|style)|reduce (the )?(number of )?colors|"
              r"fewer colors|flat colors)\b", text)  # fmt: skip
    if not m:
        return None
    bits = 2 if LARGE.search(text) else 4 if SMALL.search(text) else 3
    return Match("posterize", {"bits": bits}, (m.span(),))


def blur(text: str) -> Match | None:
    """Whole-image blur."""
    m = re.search(r"\b(blur(red|ry|ier)?|soften|softer|soft focus|out of focus|defocus(ed)?|gaussian|"
              r"smooth(en|er)?|dreamy|hazy)\b", text)  # fmt: skip
    if not m or re.search(r"\b(less|un|de|remove( the)?|reduce( the)?|not) ?blur", text):
        return None
    return Match("blur", {"radius": degree(text, 1.5, 3.0, 8.0)}, (m.span(),))


# 'turn the contrast down', 'the contrast down', 'contrast down' ('{}': the property's words).
_DOWN = r"(turn )?(the )?({}) (down|lower)"
_UP = r"(turn )?(the )?({}) (up|higher)"
# Each property's lowering rule comes first: 'decrease the warmth' holds 'warmth', which raises it.
_TONE_RULES: list[tuple[str, str, float]] = [
    (rf"\b((decrease|reduce|lower|turn down) (the )?(brightness|exposure)|{_DOWN.format('brightness|exposure')}|"
     r"dark(en|er)|dim(mer)?|less bright|too bright|overexposed|moodier|less exposure)\b", "brightness", -1),
    (rf"\b(bright(en|er|ness up)?|lighter|lighten|more light|(increase|raise|boost|up|turn up) (the )?"
     rf"(brightness|exposure|light)|{_UP.format('brightness|exposure')}|too dark|underexposed|more exposure|"
     r"less dark)\b", "brightness", 1),
    (rf"\b(less contrast|(decrease|reduce|lower|turn down) (the )?contrast|{_DOWN.format('contrast')}|"
     r"low contrast|flatter|softer contrast)\b", "contrast", -1),
    (rf"\b(more contrast(y)?|contrasty|(increase|boost|raise|add|up|turn up|higher) (the )?contrast|punchier|"
     rf"contrastier|{_UP.format('contrast')}|high contrast|stronger contrast)\b", "contrast", 1),
    (r"\b(colors? (are |is )?too (strong|intense|saturated|vivid|loud)|tone (them|it|the colors?) down|"
     r"less (vivid|vibrant|saturated|colorful|intense)|desaturate[d]?|muted|washed[- ]out|dull(er)?|"
     rf"(reduce|decrease|lower|tone down|turn down) (the )?(colors?|saturation)|{_DOWN.format('saturation')}|"
     r"less colors?|softer colors|pastel)\b", "saturation", -1),
    (r"\b(more (vivid|vibrant|saturated|colorful|intense|rich)|vivid|vibrant|saturated|colorful|"
     r"(boost|increase|raise|intensify|enhance|pump up|turn up) (the )?(colors?|saturation)|saturate|"
     rf"{_UP.format('saturation')}|(colors?|it) pop|richer colors?|more colors?|brighter colors|stronger colors?|"
     r"punchy colors?)\b", "saturation", 1),
    (r"\b(cool(er)? (tones?|colors?|it down|temperature|look)|cool it down|colder|cold(er)? (tone|look|feel)|"
     rf"icier|cooler|(decrease|reduce|lower|turn down|tone down) (the )?(warmth|temperature)|"
     rf"{_DOWN.format('warmth|temperature')}|less warm(th)?|too warm|warmth (is )?too (strong|much|high))\b",
     "warmth", -1),
    (r"\b(warm(er|th)?|warm it up|(more )?golden (tones?|hue|light|glow)|cozier|sunnier|"
     rf"(increase|raise|boost|turn up) (the )?(warmth|temperature)|{_UP.format('temperature')})\b", "warmth", 1),
]  # fmt: skip


def tone(text: str) -> Match | None:
    """Brightness, contrast, saturation, warmth; several in one call."""
    args: dict[str, Any] = {}
    spans = []
    for pattern, prop, sign in _TONE_RULES:
        m = re.search(pattern, text)
        if not m or prop in args:
            continue
        spans.append(m.span())
        if prop == "warmth":
            args[prop] = sign * degree(text, 0.2, 0.4, 0.7)
        else:
            up = degree(text, 1.15, 1.3, 1.6)
            args[prop] = up if sign > 0 else round(1 / up, 2)
    return Match("adjust_tone", args, tuple(spans)) if args else None


def tint(text: str) -> Match | None:
    """A colour cast over the whole image."""
    pattern = (rf"\b((?P<c1>{COLOR_WORD}) (tint|cast|hue|wash|filter|overlay|tone|tones|glow|shade)|"
               rf"tint(ed)?( it| the image)?( (with|in|toward|towards|to))? (?P<c2>{COLOR_WORD})|"
               rf"more (?P<c3>{COLOR_WORD})|(?P<c4>{COLOR_WORD})|"
               rf"(?P<c5>reddish|redder|bluish|blueish|bluer|greenish|greener|yellowish|yellower|pinkish|"
               rf"pinker|purplish|purpler|orangey|orangish|brownish|goldish))\b")  # fmt: skip
    m = re.search(pattern, text)
    if not m:
        return None
    word = next(g for g in (m.group(f"c{i}") for i in range(1, 6)) if g)
    color = COLORS.get(word) or COLOR_FORMS[word]
    if color in ("black", "white", "gray"):
        return None  # 'make it gray' is about colour removal or ambiguous, never a gray tint
    explicit = bool(m.group("c1") or m.group("c2"))
    strength = degree(text, 0.2, 0.35 if explicit or m.group("c3") or m.group("c5") else 0.5, 0.6)
    return Match("tint", {"color": color, "strength": strength}, (m.span(),))


# Order matters: specific looks before the tone and tint rules that share their words.
RULES: tuple[Rule, ...] = (
    grayscale,
    sepia,
    invert,
    posterize,
    vintage,
    vignette,
    flip,
    rotate,
    crop,
    resize,
    sharpen,
    blur,
    tone,
    tint,
)


def residue(text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    """Content words outside the matched keywords: a specific object or region the edit names."""
    kept = list(text)
    for start, end in spans:
        kept[start:end] = " " * (end - start)
    words = re.findall(r"[a-z][a-z'-]*", "".join(kept))
    return [w for w in words if w not in GENERIC and w not in COLORS and not w.isdigit() and len(w) > 1]


def mentions_edit(clause: str) -> bool:
    """Whether any CPU rule's keywords appear, even aimed at a specific region ('blur the background')."""
    return any(rule(clause) is not None for rule in RULES)


def match_cpu(clause: str) -> Match | None:
    """The first CPU rule that accounts for the whole clause (nothing specific left over)."""
    for rule in RULES:
        found = rule(clause)
        if found is not None and not residue(clause, found.spans):
            return found
    return None
