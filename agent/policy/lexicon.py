"""Matching a clause to a CPU tool call: keyword patterns, degrees, angles, fractions and colours."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.policy.text import number_in

COLORS = {
    "red": "red", "orange": "orange", "yellow": "yellow", "green": "green", "blue": "blue",
    "purple": "purple", "violet": "violet", "pink": "pink", "magenta": "magenta", "cyan": "cyan",
    "teal": "teal", "turquoise": "turquoise", "brown": "brown", "gold": "gold", "golden": "gold",
    "silver": "silver", "beige": "beige", "navy": "navy", "maroon": "maroon", "lime": "lime",
    "olive": "olive", "indigo": "indigo", "lavender": "lavender", "crimson": "crimson",
    "amber": "orange", "coral": "coral", "peach": "peachpuff", "aqua": "aqua", "gray": "gray",
    "black": "black", "white": "white",
}  # fmt: skip
_COLOR_FORMS = {
    "reddish": "red", "redder": "red", "bluish": "blue", "blueish": "blue", "bluer": "blue",
    "greenish": "green", "greener": "green", "yellowish": "yellow", "yellower": "yellow",
    "pinkish": "pink", "pinker": "pink", "purplish": "purple", "purpler": "purple",
    "orangey": "orange", "orangish": "orange", "brownish": "brown", "goldish": "gold",
}  # fmt: skip
COLOR_WORD = r"(?:" + "|".join(sorted([*COLORS, *_COLOR_FORMS], key=len, reverse=True)) + r")"

# Words that never name a target: with them removed, anything left means a specific region/object.
GENERIC = set(
    [
        "make",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "the",
        "a",
        "an",
        "image",
        "whole",
        "entire",
        "overall",
        "everything",
        "all",
        "of",
        "more",
        "less",
        "bit",
        "little",
        "slightly",
        "much",
        "lot",
        "lots",
        "very",
        "really",
        "please",
        "can",
        "you",
        "could",
        "would",
        "just",
        "look",
        "looks",
        "looking",
        "seem",
        "appear",
        "be",
        "is",
        "are",
        "to",
        "and",
        "so",
        "too",
        "some",
        "somewhat",
        "tad",
        "touch",
        "way",
        "quite",
        "pretty",
        "kind",
        "sort",
        "up",
        "down",
        "by",
        "with",
        "for",
        "me",
        "again",
        "now",
        "effect",
        "filter",
        "style",
        "tone",
        "tones",
        "color",
        "colors",
        "give",
        "add",
        "apply",
        "put",
        "turn",
        "set",
        "increase",
        "decrease",
        "reduce",
        "boost",
        "raise",
        "lower",
        "higher",
        "lower",
        "bring",
        "go",
        "do",
        "get",
        "use",
        "want",
        "need",
        "like",
        "on",
        "in",
        "into",
        "as",
        "tiny",
        "small",
        "smaller",
        "large",
        "larger",
        "big",
        "bigger",
        "huge",
        "slight",
        "strong",
        "stronger",
        "heavy",
        "heavier",
        "light",
        "lighter",
        "mild",
        "subtle",
        "extra",
        "super",
        "extremely",
        "significantly",
        "dramatically",
        "heavily",
        "strongly",
        "noticeably",
        "somehow",
        "overall",
        "thing",
        "one",
        "version",
        "degrees",
        "degree",
        "percent",
        "%",
        "times",
        "x",
        "px",
        "pixels",
        "side",
        "sides",
        "amount",
        "level",
        "levels",
        "notch",
        "notches",
        "bunch",
        "while",
        "adjust",
        "change",
        "mode",
        "feel",
        "vibe",
        "feeling",
        "out",
        "off",
        "away",
        "from",
        "across",
        "over",
        "overall",
        "instead",
    ]
)

SMALL = re.compile(
    r"\b(a (little|tiny|small) bit|a (little|bit|tad|touch|smidge|notch)|slight(ly)?|somewhat|subtle|mild(ly)?|barely|gently)\b"  # noqa: E501
)
LARGE = re.compile(
    r"\b(much|a lot|lots|very|way|really|super|extremely|significantly|dramatically|heavily|strongly|a ton|hugely|massively|way more|a great deal)\b"  # noqa: E501
)


def degree(text: str, small: float, normal: float, large: float) -> float:
    """Pick a magnitude from hedges ('a bit') and intensifiers ('much')."""
    if SMALL.search(text):
        return small
    if LARGE.search(text):
        return large
    return normal


@dataclass(frozen=True)
class Match:
    """A CPU tool call found in a clause, with the words it accounts for."""

    tool: str
    args: dict[str, Any]
    spans: tuple[tuple[int, int], ...]  # character spans of the keywords matched


Rule = Callable[[str], Match | None]


def _find(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text)


def keyword_rule(tool: str, pattern: str, scaled: tuple[str, float, float, float] | None = None) -> Rule:
    """A rule that calls ``tool`` when ``pattern`` matches, with one param scaled by hedges if given."""

    def rule(text: str) -> Match | None:
        m = re.search(pattern, text)
        if not m:
            return None
        args = {} if scaled is None else {scaled[0]: degree(text, *scaled[1:])}
        return Match(tool, args, (m.span(),))

    rule.__name__ = tool
    return rule


grayscale = keyword_rule(
    "grayscale",
    (
        r"\b(black[ _]and[ _]white|gray ?scale|monochrome?|mono|colorless|noir|"
        r"(remove|drop|take out|strip|get rid of) (all )?(the )?colors?|no colors?|without colors?|"
        r"desaturate (it |the image )?(completely|fully|entirely|all the way))\b"
    ),
)
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
    m = _find(r"\b(posteri[sz]e[d]?|poster(-| )?(effect|look|style)|reduce (the )?(number of )?colors|"
              r"fewer colors|flat colors)\b", text)  # fmt: skip
    if not m:
        return None
    bits = 2 if LARGE.search(text) else 4 if SMALL.search(text) else 3
    return Match("posterize", {"bits": bits}, (m.span(),))


def blur(text: str) -> Match | None:
    """Whole-image blur."""
    m = _find(r"\b(blur(red|ry|ier)?|soften|softer|soft focus|out of focus|defocus(ed)?|gaussian|"
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
    color = COLORS.get(word) or _COLOR_FORMS[word]
    if color in ("black", "white", "gray"):
        return None  # 'make it gray' is about colour removal or ambiguous, never a gray tint
    explicit = bool(m.group("c1") or m.group("c2"))
    strength = degree(text, 0.2, 0.35 if explicit or m.group("c3") or m.group("c5") else 0.5, 0.6)
    return Match("tint", {"color": color, "strength": strength}, (m.span(),))


def rotate(text: str) -> Match | None:
    """Rotation by an angle or direction; needs an angle or direction word."""
    m = _find(r"\b(rotate[d]?|turn(ed)?|spin|tilt(ed)?)\b", text)
    upside = _find(r"\bupside[- ]down\b", text)
    if upside and not _find(r"\bflip", text):
        return Match("rotate", {"degrees": 180}, (upside.span(),) + ((m.span(),) if m else ()))
    if not m or _find(r"\binto\b|\bturn (on|off)\b", text):
        return None
    angle = _find(r"(-?\d+)\s*(°|degrees?|deg\b)|\b(ninety|forty-five|forty five|one hundred eighty|"
                  r"hundred and eighty|quarter( turn)?|half( turn)?|sideways)\b", text)  # fmt: skip
    direction = _find(r"\b(counter[- ]?clockwise|anti[- ]?clockwise|clockwise|to the left|to the right|"
                      r"left|right|ccw|cw)\b", text)  # fmt: skip
    if not angle and not direction:
        return None
    degrees = 90.0
    if angle:
        word = angle.group(0)
        number = number_in(word)
        degrees = 45.0 if "forty" in word else 180.0 if ("half" in word or "hundred" in word) else 90.0
        if number is not None and angle.group(1):
            degrees = float(number)
    if m.group(0).startswith("tilt") and not angle:
        degrees = 10.0
    clockwise = not direction or direction.group(0) in ("clockwise", "to the right", "right", "cw")
    spans = tuple(x.span() for x in (m, angle, direction) if x)
    return Match("rotate", {"degrees": -degrees if clockwise else degrees}, spans)


def flip(text: str) -> Match | None:
    """Mirror left-right or top-bottom."""
    m = _find(r"\b(flip(ped)?|mirror(ed)?|reflect(ed)?)\b", text)
    if not m:
        return None
    vertical = _find(r"\b(vertical(ly)?|upside[- ]down|top to bottom|top-bottom|over)\b", text)
    direction = "vertical" if vertical else "horizontal"
    spans = (m.span(),) + ((vertical.span(),) if vertical else ())
    side = _find(r"\b(horizontal(ly)?|left[- ]to[- ]right|left[- ]right|sideways)\b", text)
    return Match("flip", {"direction": direction}, spans + ((side.span(),) if side else ()))


_FRACTIONS = {"half": 0.5, "third": 0.33, "quarter": 0.25, "fifth": 0.2, "tenth": 0.1}


def crop(text: str) -> Match | None:
    """Crop away a fraction of named sides, or zoom in on the centre."""
    m = _find(
        r"\b(crop(ped)?|cut (off|away|out)|trim|zoom in|zoomed in|tighter|closer framing|"
        r"(make|turn|cut) (it|the image) (into )?(a )?square)\b",
        text,
    )
    if not m:
        return None
    spans = [m.span()]
    amount = 0.1 if SMALL.search(text) else 0.2
    if (f := _find(r"\b(half|third|quarter|fifth|tenth)\b", text)) is not None:
        amount, spans = _FRACTIONS[f.group(1)], [*spans, f.span()]
    elif (p := _find(r"(\d+)\s*(%|percent)", text)) is not None:
        amount, spans = min(0.9, int(p.group(1)) / 100), [*spans, p.span()]
    sides = re.findall(r"\b(left|right|top|bottom|edges?|borders?|sides|center|centre|middle)\b", text)
    spans += [
        s.span() for s in re.finditer(r"\b(left|right|top|bottom|edges?|borders?|sides|center|centre|middle)\b", text)
    ]
    keep = _find(r"\b(to|keep|only|just)( the| only the)? (left|right|top|bottom)\b", text)
    args: dict[str, float] = {}
    opposite = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}
    for side in sides:
        if side in opposite:
            args[opposite[side] if keep else side] = amount
        elif side in ("edges", "edge", "borders", "border"):
            args.update(left=0.1, right=0.1, top=0.1, bottom=0.1)
        elif side == "sides":
            args.update(left=0.1, right=0.1)
        else:
            args.update(left=0.15, right=0.15, top=0.15, bottom=0.15)
    if (
        a := _find(
            r"\b(?:(?:a |the )?(square)(?: format| shape| image)?|(\d{1,2}) ?(?:[:x/]|by) ?(\d{1,2})"
            r"(?: (?:aspect|ratio|format))*)\b",
            text,
        )
    ) is not None:
        spans.append(a.span())
        aspect = "1:1" if a.group(1) else f"{int(a.group(2))}:{int(a.group(3))}"
        if "0" not in aspect.split(":"):
            return Match("crop", {**args, "aspect": aspect}, tuple(spans))
    if not args and m.group(0).startswith(("zoom", "tighter", "closer")):
        args = {"left": amount, "right": amount, "top": amount, "bottom": amount}
    if keep and amount == 0.5 and args:
        args = {k: 0.5 for k in args}
    return Match("crop", args, tuple(spans)) if args else None


def resize(text: str) -> Match | None:
    """Scale the whole image by a factor or to pixel sizes."""
    m = _find(r"\b(resize[d]?|rescale|scale[d]?( it)?( down| up)?|downscale|upscale|downsize|shrink|enlarge|"
              r"half the size|double the size|twice as (big|large)|(smaller|bigger|larger) (image|size|file)|"
              r"halve( the size)?|half size|(reduce|cut) the size|double (the )?size|"
              r"(whole |entire )?image (bigger|larger|smaller))\b", text)  # fmt: skip
    dims = _find(r"(\d{2,5})\s*(x|×|by)\s*(\d{2,5})", text)
    width = _find(r"(\d{2,5})\s*(px|pixels)?\s*(wide|width)|width (of |to )?(\d{2,5})", text)
    height = _find(r"(\d{2,5})\s*(px|pixels)?\s*(tall|high|height)|height (of |to )?(\d{2,5})", text)
    pixels = _find(r"\d{2,5}\s*(px|pixels)\s*(wide|tall|high)", text)  # '320 pixels wide' names a resize
    # 'a third of the size', 'a quarter of its original size': a fraction of the size names a resize too
    fraction = _find(r"\b(?:a |one )?(half|third|quarter|fifth|tenth)(?: of)?(?: the| its)?(?: original)? size\b", text)
    if not m and not dims and not pixels and not fraction:
        return None
    spans = tuple(x.span() for x in (m, dims, width, height, fraction) if x)
    if dims:
        return Match("resize", {"width": int(dims.group(1)), "height": int(dims.group(3))}, spans)
    if width:
        return Match("resize", {"width": int(width.group(1) or width.group(4))}, spans)
    if height:
        return Match("resize", {"height": int(height.group(1) or height.group(4))}, spans)
    percent = _find(r"(\d+)\s*(%|percent)", text)
    factor = _find(r"(\d+(\.\d+)?)\s*(x|times)\b", text)
    if percent:
        scale = int(percent.group(1)) / 100
        if _find(r"\b(smaller|down|shrink|reduce)\b", text) and scale < 1 and "by" in text:
            scale = 1 - scale
        return Match("resize", {"scale": scale}, (*spans, percent.span()))
    if factor:
        value = float(factor.group(1))
        shrink = _find(r"\b(smaller|down|shrink|downscale|downsize)\b", text)
        return Match("resize", {"scale": 1 / value if shrink else value}, (*spans, factor.span()))
    if fraction:
        return Match("resize", {"scale": _FRACTIONS[fraction.group(1)]}, spans)
    if _find(r"\b(half|halve)\b", text):
        return Match("resize", {"scale": 0.5}, spans)
    if _find(r"\b(shrink|down|smaller|downscale|downsize|reduce)\b", text):
        return Match("resize", {"scale": 0.5}, spans)
    if _find(r"\b(up|bigger|larger|enlarge|upscale|double|twice)\b", text):
        return Match("resize", {"scale": 2.0}, spans)
    return None


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
