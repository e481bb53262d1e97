"""Text and JSON from files a user hands us, read safely: UTF-8 checked, nesting bounded before parsing.

``json.loads`` recurses once per nesting level, so 100,000 opening brackets raise RecursionError (a
traceback, not an answer). ``loads`` counts the depth first, outside strings, and refuses past
``MAX_DEPTH`` with a ValueError that names the limit; callers already turn ValueError (json's
JSONDecodeError is one) into one line naming their file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.errors import DialogPaintError

MAX_DEPTH = 64  # far beyond any dialogpaint file (recipes and dialogues nest 4-5 levels)


def loads(text: str | bytes) -> Any:
    """``json.loads`` with the nesting depth checked first; ValueError for bad JSON or depth over MAX_DEPTH."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # UnicodeDecodeError is a ValueError too
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
        elif char in "]}":
            depth -= 1
    return json.loads(text)


class NotUtf8(DialogPaintError, ValueError):
    """A text file a user handed us that is not UTF-8 (binary, UTF-16, Latin-1)."""


def read_utf8(path: Path) -> str:
    """The text of ``path``; NotUtf8 names the file and the first byte that is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotUtf8(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
