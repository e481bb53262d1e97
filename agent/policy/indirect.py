"""Indirect openings that name their change: a complaint with one fix ("it's too dark" -> "make it
brighter") or a wish ("I want it to glow red" -> "give it a red tint"). What they leave open (what is
"distracting", what would make "the background" less boring) stays a question: only one reading is
rewritten, and only where the words give it.
"""

from __future__ import annotations

import re

_IT = r"(?:it|this|the (?:image|photo|picture|pic|shot|whole thing)|everything)"
_IS = r"(?:'s|s| is| looks| feels| seems| appears| came out)"
_HOW = r"(?: a bit| a little| slightly| way| much| far| rather| kind of| kinda| really| so| quite| just)*"

# complaint (what is wrong) -> the one edit that fixes it
_FIXES: tuple[tuple[str, str], ...] = (
    (r"too dark|underexposed|too dim|too gloomy", "make it brighter"),
    (r"too bright|overexposed|too light|blown out", "make it darker"),
    (r"too (?:cold|cool|blue)", "make it warmer"),
    (r"too (?:warm|yellow|orange)", "make it cooler"),
    (r"too sharp(?: and busy)?|too crisp", "blur it a little"),
    (r"(?:too )?(?:blurry|blurred|out of focus|soft|fuzzy)", "sharpen it"),
    (r"flat|too flat|lifeless", "increase the contrast"),
    (r"upside[- ]down", "rotate it 180 degrees"),
    (r"(?:lying )?on its side|sideways", "rotate it 90 degrees"),
    (r"too (?:modern|new|clean)", "make it look vintage"),
    (r"too saturated|too colou?rful|too garish", "reduce the saturation"),
)
_COLOURS = r"the colou?rs?(?: are| is| look| looks| feel| seem)" + _HOW
_FILE = r"(?:the )?file(?: size)?(?: is| 's|'s)" + _HOW
_ABOUT: tuple[tuple[str, str], ...] = (  # complaints about one property
    (r"the contrast(?: is| looks| feels)" + _HOW + r" (?:too )?(?:harsh|strong|high|much)", "reduce the contrast"),
    (r"the contrast(?: is| looks| feels)" + _HOW + r" (?:too )?(?:weak|low|flat)", "increase the contrast"),
    (_COLOURS + r" (?:too )?(?:dull|flat|faded|muted|washed[- ]out|drab)",
     "make the colors more vivid"),
    (_COLOURS + r" too (?:strong|intense|loud|saturated)", "reduce the saturation"),
    (_FILE + r" too (?:big|large|heavy)(?: to (?:send|upload|share|email)[a-z ]*)?",
     "halve the size"),
)  # fmt: skip
_COLOR = r"(?P<c>red|orange|yellow|green|blue|purple|pink|violet|gold|golden|amber|teal|cyan|magenta)"


def indirect_request(text: str) -> str | None:
    """The instruction an indirect opening names, or None if it names none (or is already an instruction)."""
    said = text.strip().lower().rstrip(" .!?")
    for complaint, fix in _FIXES:
        if re.fullmatch(rf"{_IT}{_IS}{_HOW} (?:{complaint})", said):
            return fix
    for complaint, fix in _ABOUT:
        if re.fullmatch(complaint, said):
            return fix
    if m := re.fullmatch(rf"(?:i (?:want|'d like|would like) )?{_IT} to glow {_COLOR}", said):
        return f"give it a {m.group('c')} tint"
    if m := re.fullmatch(rf"(?:i (?:want|'d like|would like) )?{_IT} (?:to be )?bathed in {_COLOR} light", said):
        return f"give it a {m.group('c')} tint"
    if re.fullmatch(rf"(?:i(?:'d| would) like |i want )?{_IT} (?:without (?:any )?colou?rs?|with no colou?rs?)", said):
        return "make it black and white"
    if m := re.fullmatch(
        rf"{_IT} (?:has|needs|have) to fit (?:in )?(?:a|an|the) (?P<n>\d{{2,5}}) ?(?:px|pixels?)(?: wide)? "
        r"(?:column|width|space|slot)",
        said,
    ):
        return f"resize it to {m.group('n')} pixels wide"
    return None
