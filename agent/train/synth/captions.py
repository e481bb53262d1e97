"""Caption files: JSONL rows with a "caption" and their provenance, or plain text, one caption a line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools import safe_json
from tools.errors import DialogPaintError

MAX_CAPTION_CHARS = 300


class CaptionFileError(DialogPaintError, ValueError):
    """A caption file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Caption:
    """What one image shows, with where the text came from (copied into every row made from it)."""

    text: str
    source: dict[str, Any] = field(default_factory=dict)


def read_captions(path: str | Path) -> list[Caption]:
    """The captions of a ``.jsonl`` file (rows ``{"caption": ..., ...}``; the other keys are the
    provenance) or of any other text file (one caption a line, provenance: the file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise CaptionFileError(f"no captions file at {path}")
    try:
        lines = safe_json.read_utf8(path).splitlines()
    except UnicodeDecodeError as exc:
        raise CaptionFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    captions = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            captions.append(_caption(path, number, line))
    if not captions:
        raise CaptionFileError(f"{path}: no captions in the file")
    return captions


def _caption(path: Path, number: int, line: str) -> Caption:
    """One line as a caption, refused with its file and line when it is not one."""
    if path.suffix != ".jsonl":
        text, source = line.strip(), {"file": path.name, "line": number}
    else:
        try:
            row = safe_json.loads(line)
        except ValueError as exc:
            raise CaptionFileError(f"{path}:{number}: not JSON ({getattr(exc, 'msg', exc)})") from None
        if not isinstance(row, dict) or not isinstance(row.get("caption"), str) or not row["caption"].strip():
            raise CaptionFileError(f'{path}:{number}: a row must be a JSON object with a non-empty "caption" string')
        text, source = row["caption"].strip(), {k: v for k, v in row.items() if k != "caption"}
    if len(text) > MAX_CAPTION_CHARS:
        raise CaptionFileError(f"{path}:{number}: caption of {len(text)} characters (at most {MAX_CAPTION_CHARS})")
    return Caption(text, source)
