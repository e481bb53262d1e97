"""What a user message may contain: one rule, applied where messages enter (``check_message``).

Line breaks are normalised (CR LF and CR become LF); nothing else is ever changed, so the stored
history is exactly what the user is shown. Refused: C0 and C1 control characters other than tab
and newline (NUL, the ESC that starts ANSI escape sequences, DEL...); bidirectional embeddings,
overrides and isolates, which make text display unlike what it says ("Trojan Source",
CVE-2021-42574); and unpaired surrogates, which are not Unicode at all and cannot be stored as
UTF-8. Marks that are text (U+200E/U+200F, the zero-width joiner of emoji sequences) are kept.
"""

from __future__ import annotations

import re

FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def normalise_line_breaks(text: str) -> str:
    """CR LF and lone CR as LF: how browsers and terminals differ, not what the user wrote."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def forbidden_character(text: str) -> str | None:
    """Why ``text`` cannot be a message, naming its first forbidden character and where; None if it can."""
    found = FORBIDDEN_CHARACTERS.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        what, rule = "an unpaired surrogate", "it is not valid Unicode; send UTF-8 text"
    elif 0x202A <= code <= 0x2069:
        what, rule = "a bidirectional control", "it makes text display unlike what it says; remove it"
    else:
        what, rule = "a control character", "only tab and newline are allowed"
    return f"the message contains {what} (U+{code:04X}) at character {found.start() + 1}; {rule}"
