"""An HTML page of a conversation with every revision's image inline."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:860px;margin:2em auto;color:#222;background:#fafafa}
.turn{margin:1em 0;padding:.6em 1em;border-radius:10px}.user{background:#e3eefc;margin-left:20%}
.bot{background:#fff;border:1px solid #ddd;margin-right:20%}.meta{color:#777;font-size:.85em}
img{max-width:100%;border-radius:6px;margin-top:.5em;display:block}
"""


@dataclass(frozen=True)
class Entry:
    """One exchange: the user's words, the reply, its action, and the image to show (if changed)."""

    user: str
    reply: str
    action: str
    image: str | None  # path relative to the page


def render_transcript(title: str, original: str, entries: Sequence[Entry]) -> str:
    """The page as a string; images are referenced relative to the page's folder."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<div class='turn bot'><div class='meta'>original image</div><img src='{html.escape(original)}' "
             "alt='original image'></div>"]  # fmt: skip
    for entry in entries:
        parts.append(f"<div class='turn user'>{html.escape(entry.user)}</div>")
        image = f"<img src='{html.escape(entry.image)}' alt='{html.escape(entry.action)}'>" if entry.image else ""
        parts.append(
            f"<div class='turn bot'><div class='meta'>{html.escape(entry.action)}</div>"
            f"{html.escape(entry.reply)}{image}</div>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_transcript(path: Path, title: str, original: str, entries: Sequence[Entry]) -> Path:
    """Write the page to ``path``."""
    path.write_text(render_transcript(title, original, entries), encoding="utf-8")
    return path
