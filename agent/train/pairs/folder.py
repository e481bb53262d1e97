"""The output folder: images, a metadata.jsonl that `datasets.load_dataset("imagefolder")` reads, a manifest.

Layout (the columns diffusers' train_instruct_pix2pix.py reads by default)::

    OUT/manifest.json        every generation setting; a resume must use the same ones
    OUT/metadata.jsonl       input_image_file_name, edit_prompt, edited_image_file_name, captions, seed, scores
    OUT/images/*.png         the pairs
    OUT/done.jsonl           one line per finished input row (kept or filtered out), for resuming

A row counts as done only once its images and metadata lines are written; metadata lines of a row
that was interrupted half-way are dropped when the folder is opened again, and the row is redone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from agent.train.pairs.rows import PairsError
from tools import safe_json
from tools.images import encode_png

METADATA = "metadata.jsonl"
MANIFEST = "manifest.json"
DONE = "done.jsonl"


@dataclass(frozen=True)
class Pair:
    """One kept pair and what made it."""

    source: Image.Image
    edited: Image.Image
    record: dict[str, Any]  # edit_prompt, captions, seed, settings and scores


class PairsFolder:
    """A make-pairs output folder, created or reopened for resuming with the same settings."""

    def __init__(self, root: Path, settings: dict[str, Any], environment: dict[str, Any]) -> None:
        """Create ``root`` or reopen it; PairsError if it was made with other settings."""
        self.root = root
        (root / "images").mkdir(parents=True, exist_ok=True)
        manifest = root / MANIFEST
        if manifest.is_file():
            saved = json.loads(manifest.read_text(encoding="utf-8")).get("settings", {})
            changed = sorted(k for k in {*saved, *settings} if saved.get(k) != settings.get(k))
            if changed:
                raise PairsError(
                    f"{root} was made with other settings ({', '.join(changed)}); "
                    "resume with the same ones or choose another --out"
                )
        else:
            _write_atomic(manifest, json.dumps({"settings": settings, "environment": environment}, indent=2) + "\n")
        self.done = {line["row"] for line in _read_lines(root / DONE)}
        kept = [line for line in _read_lines(root / METADATA) if line.get("row") in self.done]
        _write_atomic(root / METADATA, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in kept))

    def add(self, row: str, pairs: list[Pair], candidates: int) -> None:
        """Save a finished row's kept pairs (maybe none), then mark the row done."""
        lines = []
        for number, pair in enumerate(pairs):
            stem = f"images/{row}-{number}"
            (self.root / f"{stem}-input.png").write_bytes(encode_png(pair.source))
            (self.root / f"{stem}-edited.png").write_bytes(encode_png(pair.edited))
            files = {"input_image_file_name": f"{stem}-input.png", "edited_image_file_name": f"{stem}-edited.png"}
            lines.append({**files, **pair.record, "row": row})
        _append(self.root / METADATA, lines)
        _append(self.root / DONE, [{"row": row, "kept": len(pairs), "candidates": candidates}])
        self.done.add(row)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a file; a torn last line (a write cut by a kill) is ignored."""
    if not path.is_file():
        return []
    lines = []
    for text in safe_json.read_utf8(path).splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:
            continue
    return lines


def _append(path: Path, lines: list[dict[str, Any]]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
