"""The CPU rules for geometry: rotate, flip, crop and resize, with their angles, sides and fractions."""

from __future__ import annotations

import re

from agent.policy.text import number_in
from agent.policy.vocabulary import SMALL, Match


def rotate(text: str) -> Match | None:
    """Rotation by an angle or direction; needs an angle or direction word."""
    m = re.search(r"\b(rotate[d]?|turn(ed)?|spin|tilt(ed)?)\b", text)
    upside = re.search(r"\bupside[- ]down\b", text)
    if upside and not re.search(r"\bflip", text):
        return Match("rotate", {"degrees": 180}, (upside.span(),) + ((m.span(),) if m else ()))
    if not m or re.search(r"\binto\b|\bturn (on|off)\b", text):
        return None
    angle = re.search(r"(-?\d+)\s*(°|degrees?|deg\b)|\b(ninety|forty-five|forty five|one hundred eighty|"
                  r"hundred and eighty|quarter( turn)?|half( turn)?|sideways)\b", text)  # fmt: skip
    direction = re.search(r"\b(counter[- ]?clockwise|anti[- ]?clockwise|clockwise|to the left|to the right|"
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
    m = re.search(r"\b(flip(ped)?|mirror(ed)?|reflect(ed)?)\b", text)
    if not m:
        return None
    vertical = re.search(r"\b(vertical(ly)?|upside[- ]down|top to bottom|top-bottom|over)\b", text)
    direction = "vertical" if vertical else "horizontal"
    spans = (m.span(),) + ((vertical.span(),) if vertical else ())
    side = re.search(r"\b(horizontal(ly)?|left[- ]to[- ]right|left[- ]right|sideways)\b", text)
    return Match("flip", {"direction": direction}, spans + ((side.span(),) if side else ()))


_FRACTIONS = {"half": 0.5, "third": 0.33, "quarter": 0.25, "fifth": 0.2, "tenth": 0.1}


def crop(text: str) -> Match | None:
    """Crop away a fraction of named sides, or zoom in on the centre."""
    m = re.search(
        r"\b(crop(ped)?|cut (off|away|out)|trim|zoom in|zoomed in|tighter|closer framing|"
        r"(make|turn|cut) (it|the image) (into )?(a )?square)\b",
        text,
    )
    if not m:
        return None
    spans = [m.span()]
    amount = 0.1 if SMALL.search(text) else 0.2
    if (f := re.search(r"\b(half|third|quarter|fifth|tenth)\b", text)) is not None:
        amount, spans = _FRACTIONS[f.group(1)], [*spans, f.span()]
    elif (p := re.search(r"(\d+)\s*(%|percent)", text)) is not None:
        amount, spans = min(0.9, int(p.group(1)) / 100), [*spans, p.span()]
    sides = re.findall(r"\b(left|right|top|bottom|edges?|borders?|sides|center|centre|middle)\b", text)
    spans += [
        s.span() for s in re.finditer(r"\b(left|right|top|bottom|edges?|borders?|sides|center|centre|middle)\b", text)
    ]
    keep = re.search(r"\b(to|keep|only|just)( the| only the)? (left|right|top|bottom)\b", text)
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
        a := re.search(
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
    m = re.search(r"\b(resize[d]?|rescale|scale[d]?( it)?( down| up)?|downscale|upscale|downsize|shrink|enlarge|"
              r"half the size|double the size|twice as (big|large)|(smaller|bigger|larger) (image|size|file)|"
              r"halve( the size)?|half size|(reduce|cut) the size|double (the )?size|"
              r"(whole |entire )?image (bigger|larger|smaller))\b", text)  # fmt: skip
    dims = re.search(r"(\d{2,5})\s*(x|×|by)\s*(\d{2,5})", text)
    width = re.search(r"(\d{2,5})\s*(px|pixels)?\s*(wide|width)|width (of |to )?(\d{2,5})", text)
    height = re.search(r"(\d{2,5})\s*(px|pixels)?\s*(tall|high|height)|height (of |to )?(\d{2,5})", text)
    pixels = re.search(r"\d{2,5}\s*(px|pixels)\s*(wide|tall|high)", text)  # '320 pixels wide' names a resize
    # 'a third of the size', 'a quarter of its original size': a fraction of the size names a resize too
    fraction = re.search(
        r"\b(?:a |one )?(half|third|quarter|fifth|tenth)(?: of)?(?: the| its)?(?: original)? size\b", text
    )
    if not m and not dims and not pixels and not fraction:
        return None
    spans = tuple(x.span() for x in (m, dims, width, height, fraction) if x)
    if dims:
        return Match("resize", {"width": int(dims.group(1)), "height": int(dims.group(3))}, spans)
    if width:
        return Match("resize", {"width": int(width.group(1) or width.group(4))}, spans)
    if height:
        return Match("resize", {"height": int(height.group(1) or height.group(4))}, spans)
    percent = re.search(r"(\d+)\s*(%|percent)", text)
    factor = re.search(r"(\d+(\.\d+)?)\s*(x|times)\b", text)
    if percent:
        scale = int(percent.group(1)) / 100
        if re.search(r"\b(smaller|down|shrink|reduce)\b", text) and scale < 1 and "by" in text:
            scale = 1 - scale
        return Match("resize", {"scale": scale}, (*spans, percent.span()))
    if factor:
        value = float(factor.group(1))
        shrink = re.search(r"\b(smaller|down|shrink|downscale|downsize)\b", text)
        return Match("resize", {"scale": 1 / value if shrink else value}, (*spans, factor.span()))
    if fraction:
        return Match("resize", {"scale": _FRACTIONS[fraction.group(1)]}, spans)
    if re.search(r"\b(half|halve)\b", text):
        return Match("resize", {"scale": 0.5}, spans)
    if re.search(r"\b(shrink|down|smaller|downscale|downsize|reduce)\b", text):
        return Match("resize", {"scale": 0.5}, spans)
    if re.search(r"\b(up|bigger|larger|enlarge|upscale|double|twice)\b", text):
        return Match("resize", {"scale": 2.0}, spans)
    return None
