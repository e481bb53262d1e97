"""The revision tree: undo walks to ancestors, redo walks back down, an edit after undo branches."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from graphs.state import Revision


def new_revision(
    image: str,
    *,
    parent: str | None = None,
    instruction: str | None = None,
    tool: str | None = None,
    params: dict[str, Any] | None = None,
) -> Revision:
    """A revision with an unguessable id (128 random bits) and the current UTC time."""
    return Revision(
        id="r_" + secrets.token_urlsafe(16),
        image=image,
        parent=parent,
        instruction=instruction,
        tool=tool,
        params=params or {},
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


# Indexes by id of the revision lists seen lately, keyed by (length, last id): a list only grows, and ids
# are unique, so the key names one list's contents; the index of a list that grew is extended, not rebuilt.
_INDEXES: OrderedDict[tuple[int, str], dict[str, Revision]] = OrderedDict()
_INDEXES_KEPT = 256
_PATHS: OrderedDict[str, tuple[Revision, ...]] = OrderedDict()  # revision id -> its path from the upload
_INDEXES_LOCK = threading.Lock()


def by_id(revisions: Sequence[Revision]) -> Mapping[str, Revision]:
    """Revisions by id (read-only): built once per list and extended as it grows, so a turn pays for its new
    revisions only, never for the whole tree.
    """
    if not revisions:
        return MappingProxyType({})
    key = (len(revisions), revisions[-1]["id"])
    with _INDEXES_LOCK:
        index = _INDEXES.get(key)
        if index is None:
            index = _grown(revisions)
        _INDEXES[key] = index
        _INDEXES.move_to_end(key)
        while len(_INDEXES) > _INDEXES_KEPT:
            _INDEXES.popitem(last=False)
    return MappingProxyType(index)


def _grown(revisions: Sequence[Revision]) -> dict[str, Revision]:
    """The index of ``revisions``: a recent shorter list's index, extended (it moves to the new key), or a new one."""
    for length in range(len(revisions) - 1, max(0, len(revisions) - 9), -1):
        shorter = _INDEXES.pop((length, revisions[length - 1]["id"]), None)
        if shorter is not None and len(shorter) == length:
            shorter.update((r["id"], r) for r in revisions[length:])
            return shorter
    return {r["id"]: r for r in revisions}


def lineage(revisions: Sequence[Revision], head: str | None) -> list[Revision]:
    """The path from the upload to ``head``, upload first.

    A revision's path never changes (its parent is fixed, ids are unique), so paths found lately are
    kept: the path of a new revision is its parent's plus itself, not a walk back to the upload.
    """
    index = by_id(revisions)
    walked: list[Revision] = []
    known: tuple[Revision, ...] = ()
    current = index.get(head) if head else None
    while current is not None:
        with _INDEXES_LOCK:
            known = _PATHS.get(current["id"], ())
        if known:
            break
        walked.append(current)
        current = index.get(current["parent"]) if current["parent"] else None
    path = known + tuple(reversed(walked))
    if path:
        with _INDEXES_LOCK:
            _PATHS[path[-1]["id"]] = path
            _PATHS.move_to_end(path[-1]["id"])
            while len(_PATHS) > _INDEXES_KEPT:
                _PATHS.popitem(last=False)
    return list(path)


@dataclass(frozen=True)
class Move:
    """The outcome of an undo or redo: where head goes and what the redo stack becomes."""

    head: str | None
    redo_stack: list[str]
    moved: int  # steps actually taken (may be fewer than asked)


def undo(revisions: Sequence[Revision], head: str | None, redo_stack: list[str], steps: int) -> Move:
    """Move head up to ``steps`` ancestors; undone revisions go on the redo stack."""
    path = lineage(revisions, head)
    moved = min(steps, max(0, len(path) - 1))
    if moved == 0:
        return Move(head, redo_stack, 0)
    undone = [r["id"] for r in path[-moved:]]  # oldest first; redo pops from the end
    return Move(path[-moved - 1]["id"], redo_stack + undone[::-1], moved)


def redo(head: str | None, redo_stack: list[str], steps: int) -> Move:
    """Walk back down the path last undone, up to ``steps`` revisions."""
    moved = min(steps, len(redo_stack))
    if moved == 0:
        return Move(head, redo_stack, 0)
    return Move(redo_stack[-moved], redo_stack[:-moved], moved)


def describe(revision: Revision) -> str:
    """One line for humans and the model: the instruction, or 'the original image'."""
    if revision["parent"] is None:
        return "the original image"
    return f"'{revision['instruction']}' ({revision['tool']})"


def summarize(revisions: Sequence[Revision], head: str | None, redo_stack: Sequence[str], max_items: int = 8) -> str:
    """The short text summary of the image history that goes into the model's system prompt."""
    path = lineage(revisions, head)
    if not path:
        return "No image is loaded."
    edits = path[1:]
    lines = [f"The current image is {describe(path[-1])}; {len(edits)} edit(s) applied to the original."]
    if edits:
        shown = edits[-max_items:]
        skipped = len(edits) - len(shown)
        steps = [f"{i}. {r['instruction']}" for i, r in enumerate(shown, start=skipped + 1)]
        lines.append("Edits applied, oldest first: " + "; ".join(steps) + ".")
    if redo_stack:
        index = by_id(revisions)
        undone = [index[r]["instruction"] for r in reversed(redo_stack[-max_items:])]
        lines.append(f"Undone and available to redo, next first: {'; '.join(map(str, undone))}.")
    return " ".join(lines)
