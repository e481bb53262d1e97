"""The HTTP contract between a remote editing service (tools.serving) and its client (tools.remote).

Version 1, three routes; every error is JSON ``{"error": {"type": ..., "message": ...}}``:

- ``GET /healthz`` -> 200 ``{"status": "ok", "tool": NAME}``.
- ``GET /v1/tool`` -> 200 ``ToolInfo``: name, description, the Params JSON schema, capabilities.
- ``POST /v1/edit``: the body is the image (``Content-Type: image/png``, JPEG or WebP also accepted),
  the params are JSON in the ``X-Dialogpaint-Params`` header (ASCII, at most 8 KiB) and the seed is
  the ``X-Dialogpaint-Seed`` header. 200 answers with the edited image as ``image/png``. Errors:
  400 a malformed request or an image that cannot be decoded, 413 a body over the limit, 415 not
  an image content type, 422 params or image the tool refuses (``InvalidEditRequest``),
  500 the tool failed, 503 the tool cannot run there (``ToolUnavailable``).
- ``POST /v1/edit`` by reference, when ``ToolInfo.image_store`` names a store the client also uses
  (a shared S3 bucket): the body is empty and the ``X-Dialogpaint-Image-Key`` header holds the
  image's store key (its sha256); the server reads it from the store (checked against its hash),
  stores the result and answers 200 ``{"image": KEY}`` as JSON. 404 ``image_missing``: no such key
  in the store; 500 ``image_corrupt``: its bytes no longer match the key; 400: the server has no
  store (send the body instead); 503: the store cannot be reached.

A header carries the params, not multipart, so the server needs no form parser and the body is the
image bytes unchanged.
"""

from __future__ import annotations

import io
from typing import Any, Protocol

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from tools.base import EditTool, ToolCapabilities, tool_description
from tools.images import to_rgb

PARAMS_HEADER = "x-dialogpaint-params"
SEED_HEADER = "x-dialogpaint-seed"
IMAGE_KEY_HEADER = "x-dialogpaint-image-key"
MAX_PARAMS_HEADER_BYTES = 8 * 1024


class SharedStore(Protocol):
    """An image store both sides of the wire can read (graphs.storage.s3_store): key = sha256 of the PNG."""

    @property
    def name(self) -> str:
        """Who reads the same objects has the same name (e.g. ``s3://bucket/prefix/ at URL``)."""

    def put(self, png: bytes) -> str:
        """Store PNG bytes; their key."""

    def get(self, key: str) -> bytes:
        """The PNG bytes of a key, checked against it."""


class ToolInfo(BaseModel):
    """What ``GET /v1/tool`` returns: everything the client needs to show the tool to its model."""

    model_config = ConfigDict(extra="ignore")  # newer servers may add fields

    name: str
    description: str = Field(min_length=1)
    params_schema: dict[str, Any]
    capabilities: dict[str, Any] = Field(default_factory=dict)
    image_store: str | None = None  # the shared store the server reads and writes, if any


class EditedKey(BaseModel):
    """What ``POST /v1/edit`` by reference answers: the store key of the edited image."""

    image: str = Field(pattern=r"^[0-9a-f]{64}$")


def tool_info(tool: EditTool, image_store: str | None = None) -> ToolInfo:
    """The served description of a local tool; ``image_store`` names the shared store it can read."""
    caps = tool.capabilities
    fields = ToolCapabilities.__dataclass_fields__
    return ToolInfo(
        name=tool.name,
        description=tool_description(tool),
        params_schema=tool.Params.model_json_schema(),
        capabilities={field: getattr(caps, field) for field in fields},
        image_store=image_store,
    )


def error_body(kind: str, message: str) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"error": {"type": kind, "message": message}}


def wire_png(image: Image.Image) -> bytes:
    """PNG bytes for the wire, not the store: zlib level 1 encodes in about half the time of the
    store's level 3 for ~3% more bytes on photos and noise (bench/bench_remote.py); the receiver
    re-encodes canonically anyway.
    """
    buffer = io.BytesIO()
    to_rgb(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
