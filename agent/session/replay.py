"""Replay: rebuild a revision from the original image through its recipe chain, from a session or a file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from PIL import Image

from agent.session.provenance import chain_revisions, read_provenance
from graphs.deps import GraphDeps
from graphs.recipes import Replayed, edits_to, replay_chain
from graphs.revisions import lineage
from graphs.state import Revision
from graphs.storage.store import get_image, image_key
from tools.base import EditTool
from tools.errors import DialogPaintError
from tools.images import encode_png


class OriginalMismatch(DialogPaintError, ValueError):
    """The original image given for a replay is not the one the file's recipe started from."""


class BrokenChain(DialogPaintError, ValueError):
    """A file's recipe chain whose links do not join: a step's parent is not the image before it."""


def replay_revision(deps: GraphDeps, revisions: Sequence[Revision], revision_id: str) -> Replayed:
    """Rebuild ``revision_id`` of a session from its stored original."""
    edits = edits_to(revisions, revision_id)
    original = get_image(deps.store, lineage(revisions, revision_id)[0]["image"])
    return replay_chain(deps.tools, original, edits, deps.gpu_slot)


def replay_file(tools: Mapping[str, EditTool], png: str | Path, original: Image.Image) -> Replayed:
    """Rebuild the image of an exported PNG from ``original`` and the recipe chain the file records."""
    record = read_provenance(png)
    found = image_key(encode_png(original))
    if found != record.original:
        raise OriginalMismatch(
            f"the original given has sha256 {found[:12]}..., "
            f"but {Path(png).name} was made from {record.original[:12]}..."
        )
    links = [record.original, *(step.image for step in record.chain)]
    for number, (step, parent) in enumerate(zip(record.chain, links, strict=False), start=1):
        if step.parent_image != parent:
            raise BrokenChain(
                f"{Path(png).name}'s recipe is broken at edit {number}: its parent image is not the image before it"
            )
    if record.chain and record.image != record.chain[-1].image:
        raise BrokenChain(f"{Path(png).name}'s recipe does not end at the image it says it is")
    return replay_chain(tools, original, chain_revisions(record))
