"""The input of make-pairs' stage 2: one JSON object per line with a caption, an instruction and the edited caption."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools import safe_json
from tools.errors import DialogPaintError, brief_errors

MAX_TEXT = 300  # characters; CLIP and SD's text encoder read 77 tokens, so longer text is mostly cut anyway


class PairsError(DialogPaintError):
    """A make-pairs input or output folder that cannot be used; the message names the file and the problem."""


class EditRow(BaseModel):
    """One edit to render: from ``caption`` to ``edited_caption`` by ``instruction``.

    With ``image`` (a path, relative to the JSONL file) the input is that real image and the edited
    image comes from the current editor; without it, both images come from the captions.
    """

    # Other fields (the id and provenance `dialogpaint synth` writes with each row) are ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)

    caption: str = Field(min_length=1, max_length=MAX_TEXT)
    instruction: str = Field(min_length=2, max_length=MAX_TEXT)
    edited_caption: str = Field(min_length=1, max_length=MAX_TEXT)
    image: str | None = Field(None, min_length=1, max_length=1000)

    @property
    def key(self) -> str:
        """A stable id of the row's content: resuming recognises a row however the file is reordered."""
        canonical = json.dumps(self.model_dump(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def read_rows(path: Path) -> list[EditRow]:
    """Every row of a JSONL file, validated; a bad line raises PairsError naming the line; duplicates are dropped."""
    if not path.is_file():
        raise PairsError(f"no rows file at {path}")
    rows: dict[str, EditRow] = {}
    for number, line in enumerate(safe_json.read_utf8(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = EditRow.model_validate_json(line)
        except ValidationError as exc:
            raise PairsError(f"{path}:{number}: {brief_errors(exc, 'row', limit=1)}") from None
        if row.image is not None and not Path(row.image).is_absolute():
            row = row.model_copy(update={"image": str(path.parent / row.image)})
        rows.setdefault(row.key, row)
    if not rows:
        raise PairsError(f"{path} holds no rows (expected JSON lines with caption, instruction, edited_caption)")
    return list(rows.values())
