"""Provenance in the file: the recipe chain of a revision, written into its exported PNG as a text chunk.

The chunk (an iTXt chunk named ``dialogpaint:recipe``, JSON) records, for every edit from the upload
to the revision: its instruction, tool, params with seed, the sha256 of its parent's and its own
image, and the tool's model id, plus the dialogpaint version. It lives only in exported and served
files; graph state keeps references as before. ``dialogpaint inspect`` prints it, and ``replay``
re-runs it on the original image to check the file.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.session.c2pa import C2paSigner
from graphs.deps import GraphDeps
from graphs.recipes import edits_to
from graphs.revisions import lineage
from graphs.state import Revision, head_revision
from tools import safe_json
from tools.base import EditTool
from tools.errors import DialogPaintError, brief_errors

CHUNK = "dialogpaint:recipe"
FORMAT = 1
MAX_CHUNK_CHARS = 1_000_000  # a provenance chunk longer than this is refused before parsing
MAX_CHAIN = 1000  # edits one record may list (a replay runs every one)


class ProvenanceMissing(DialogPaintError, ValueError):
    """A file without a readable dialogpaint provenance chunk."""


class Step(BaseModel):
    """One edit of the chain as the file records it."""

    model_config = ConfigDict(extra="forbid")

    revision: str
    instruction: str
    tool: str
    params: dict[str, Any]
    seed: int | None
    parent_image: str = Field(pattern=r"^[0-9a-f]{64}$")
    image: str = Field(pattern=r"^[0-9a-f]{64}$")
    model: str | None = None  # the tool's model id, for generative tools
    created_at: str


class Provenance(BaseModel):
    """The whole record: which revision this file is, the original it started from, and the chain."""

    model_config = ConfigDict(extra="forbid")

    format: int = FORMAT
    dialogpaint: str
    revision: str
    original: str = Field(pattern=r"^[0-9a-f]{64}$")
    image: str = Field(pattern=r"^[0-9a-f]{64}$")
    chain: list[Step] = Field(max_length=MAX_CHAIN)


def dialogpaint_version() -> str:
    """The installed dialogpaint version ('unknown' in a bare source tree)."""
    try:
        return version("dialogpaint")
    except PackageNotFoundError:
        return "unknown"


def model_id(tool: EditTool | None) -> str | None:
    """The model a tool runs, as configured (the last path part of a local directory), if it has one."""
    model = getattr(tool, "model", None)
    return Path(model).name if isinstance(model, str) and model else None


def provenance(revisions: Sequence[Revision], revision_id: str, tools: Mapping[str, EditTool]) -> Provenance:
    """The provenance record of one revision of a session."""
    edits = edits_to(revisions, revision_id)
    index = {r["id"]: r for r in revisions}
    root = lineage(revisions, revision_id)[0]
    chain = [
        Step(
            revision=r["id"], instruction=r["instruction"] or "", tool=str(r["tool"]), params=dict(r["params"]),
            seed=r["params"].get("seed"), parent_image=index[str(r["parent"])]["image"], image=r["image"],
            model=model_id(tools.get(str(r["tool"]))), created_at=r["created_at"],
        )
        for r in edits
    ]  # fmt: skip
    image = edits[-1]["image"] if edits else root["image"]
    return Provenance(
        dialogpaint=dialogpaint_version(), revision=revision_id, original=root["image"], image=image, chain=chain
    )


def with_provenance(png: bytes, record: Provenance) -> bytes:
    """The PNG re-encoded with the record in an iTXt chunk; the pixels are unchanged."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(CHUNK, record.model_dump_json(), zip=True)
    out = io.BytesIO()
    with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
        image.save(out, format="PNG", pnginfo=info, optimize=False)
    return out.getvalue()


def png_for(
    deps: GraphDeps, revisions: Sequence[Revision], revision_id: str, signer: C2paSigner | None = None
) -> bytes:
    """The PNG of a revision as exported and served: the stored bytes, plus the recipe chain for an edit
    (and a signed C2PA manifest holding it, when a signer is configured).

    The upload is returned as stored: it has no recipe, and it is the original a replay starts from.
    """
    revision = head_revision(revisions, revision_id)
    png = deps.store.get(revision["image"])
    if revision["parent"] is None:
        return png
    record = provenance(revisions, revision_id, deps.tools)
    png = with_provenance(png, record)
    return png if signer is None else signer.sign(png, record.model_dump(mode="json"), f"{revision_id}.png")


def read_provenance(path: str | Path) -> Provenance:
    """The provenance record of a PNG file; ProvenanceMissing when it has none or it is unreadable."""
    path = Path(path)
    try:
        with Image.open(path, formats=["PNG"]) as image:
            text = image.text.get(CHUNK) if hasattr(image, "text") else None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # ValueError: Pillow's text-chunk limit
        raise ProvenanceMissing(f"{path} is not a readable PNG: {exc}") from None
    if text is None:
        raise ProvenanceMissing(f"{path} has no {CHUNK} chunk: export it with dialogpaint to record its recipe")
    if len(text) > MAX_CHUNK_CHARS:
        raise ProvenanceMissing(
            f"the {CHUNK} chunk of {path} is {len(text)} characters; the limit is {MAX_CHUNK_CHARS}"
        )
    try:
        return Provenance.model_validate(safe_json.loads(text))
    except ValueError as exc:  # bad JSON, nesting too deep, or a ValidationError
        problem = brief_errors(exc) if isinstance(exc, ValidationError) else getattr(exc, "msg", str(exc))
        raise ProvenanceMissing(f"the {CHUNK} chunk of {path} is not a valid recipe: {problem}") from None


def chain_revisions(record: Provenance) -> list[Revision]:
    """The recorded chain as revisions, to re-run with graphs.recipes.replay_chain."""
    return [
        Revision(
            id=s.revision, image=s.image, parent=None, instruction=s.instruction, tool=s.tool,
            params={**s.params, "seed": s.seed}, created_at=s.created_at,
        )
        for s in record.chain
    ]  # fmt: skip
