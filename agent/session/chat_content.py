"""Images in and out of chat messages: content blocks to image bytes, revisions to signed markdown image links.

Chat UIs send a user's image inside the human message, as a LangChain image content block (v1:
``{"type": "image", "base64": ..., "mime_type": ...}``; v0, agent-chat-ui: ``{"type": "image",
"source_type": "base64", "data": ...}``) or an OpenAI ``image_url`` part with a ``data:`` URL.
``split_content`` takes the text and the image bytes apart: the bytes become an upload revision
and never enter graph state. Remote URLs are refused, not fetched (no request to an address a
message names). Chat UIs render markdown, not image blocks, so an edited image goes back as a
markdown image whose URL names the revision's image key and, when API keys are configured, carries
an HMAC of it by the caller's API key (``image_signature``): an ``<img>`` cannot send an
Authorization header, and a link is good for that one image only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from graphs.state import Revision
from tools.errors import ImageRejected

IMAGE_ROUTE = "/dialogpaint/images"  # GET {IMAGE_ROUTE}/{key}.png?sig=...
MAX_IMAGES_PER_MESSAGE = 1  # one message, one upload revision


def split_content(content: str | Sequence[Any]) -> tuple[str, list[bytes]]:
    """The message's text (its text parts joined) and the bytes of each image it carries."""
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    images: list[bytes] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        elif isinstance(part, dict) and part.get("type") in ("image", "image_url"):
            images.append(image_bytes(part))
        else:
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise ImageRejected(f"unsupported message content part {kind!r}: send text and images only")
    if len(images) > MAX_IMAGES_PER_MESSAGE:
        raise ImageRejected(f"the message carries {len(images)} images; the limit is {MAX_IMAGES_PER_MESSAGE}")
    return " ".join(t.strip() for t in texts if t.strip()), images


def image_bytes(block: dict[str, Any]) -> bytes:
    """The bytes of one image block (LangChain v1 or v0, or OpenAI image_url); ImageRejected for a URL."""
    if block.get("type") == "image_url":
        url = block.get("image_url")
        url = url.get("url") if isinstance(url, dict) else url
        return data_url_bytes(str(url or ""))
    data = block.get("base64") or (block.get("data") if block.get("source_type", "base64") == "base64" else None)
    if data:
        return b64decode(str(data))
    url = str(block.get("url") or block.get("data") or "")
    return data_url_bytes(url)


def data_url_bytes(url: str) -> bytes:
    """The bytes of a ``data:image/...;base64,`` URL; ImageRejected for any other URL (not fetched)."""
    head, comma, data = url.partition(",")
    if not (url.startswith("data:") and comma and head.endswith(";base64")):
        raise ImageRejected(f"image URLs are not fetched ({url[:40]!r}): send the image as base64 or a data: URL")
    return b64decode(data)


def b64decode(data: str) -> bytes:
    """Strict base64; ImageRejected naming the problem."""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ImageRejected("the image is not valid base64") from None


def image_signature(secret: bytes | None, image_key: str) -> str | None:
    """The link signature of an image key by an API key (``secret``); None in dev mode (no keys)."""
    if secret is None:
        return None
    digest = hmac.new(secret, image_key.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signature_ok(keys: Sequence[bytes], image_key: str, given: str | None) -> bool:
    """Whether ``given`` signs ``image_key`` by one of the configured keys (always true with none: dev mode)."""
    if not keys:
        return True
    expected = (image_signature(key, image_key) or "" for key in keys)
    return given is not None and any(hmac.compare_digest(e.encode(), given.encode()) for e in expected)


def image_link(base_url: str, secret: bytes | None, image_key: str) -> str:
    """The URL of an image under ``base_url`` (no trailing slash), signed by ``secret`` (None: dev mode)."""
    signature = image_signature(secret, image_key)
    return f"{base_url}{IMAGE_ROUTE}/{image_key}.png" + (f"?sig={signature}" if signature else "")


def revision_markdown(revision: Revision, url: str) -> str:
    """A markdown image of a revision, its alt text the instruction that made it."""
    alt = (revision["instruction"] or "the image").replace("]", ")").replace("[", "(")
    return f"![{alt}]({url})"
