"""RemoteTool: an EditTool that runs on an HTTP editing service (``dialogpaint serve-tool``, tools.wire).

``connect_remote_tool`` asks the service for its tool's description, Params schema and capabilities,
so the dialogue model sees the real tool; each edit then sends the image and params and reads the
edited image back, within timeouts and size limits, mapping every failure to a tools.errors type.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import httpx
from PIL import Image
from pydantic import BaseModel, ValidationError

from tools.base import ProgressCallback, ToolCapabilities, check_max_side
from tools.errors import EditFailed, ImageRejected, InvalidEditRequest, RegistryError, ToolUnavailable
from tools.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, decode_image, encode_png
from tools.redaction import redacted
from tools.schema_params import params_model
from tools.wire import IMAGE_KEY_HEADER, PARAMS_HEADER, SEED_HEADER, EditedKey, SharedStore, ToolInfo, wire_png

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteLimits:
    """How long to wait for, and how much to send to and accept from, an editing service."""

    connect_timeout_s: float = 5.0
    read_timeout_s: float = 120.0  # an edit on a busy GPU can queue behind others
    max_request_bytes: int = DEFAULT_MAX_BYTES
    max_response_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS

    def timeout(self) -> httpx.Timeout:
        """The httpx timeout: connect as configured, every other phase the read timeout."""
        return httpx.Timeout(self.read_timeout_s, connect=self.connect_timeout_s)


class RemoteTool:
    """Base of the per-service tool classes ``connect_remote_tool`` builds; one HTTP call per edit."""

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    capabilities: ClassVar[ToolCapabilities]
    image_store: ClassVar[str | None] = None  # the shared store the service names in its ToolInfo

    def __init__(
        self, url: str, limits: RemoteLimits, client: httpx.Client | None = None, store: SharedStore | None = None
    ) -> None:
        """Call the service at ``url``; one client (and its connection pool) serves every edit.

        Args:
            store: the image store both this process and the service read; with it, images travel
                by key (tools.wire), not as request and response bodies.
        """
        self.url = url.rstrip("/")
        self.limits = limits
        self.store = store
        # Making a client costs ~75 ms (it loads the CA bundle), more than a small edit over loopback.
        self.client = client or httpx.Client(timeout=limits.timeout())

    def close(self) -> None:
        """Close the connection pool (create_engine registers this with Engine.close)."""
        self.client.close()

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """Refuse images over the service's side limit before sending anything."""
        check_max_side(self, image)

    def __call__(
        self,
        image: Image.Image,
        params: BaseModel,
        *,
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> Image.Image:
        """Send the image (or its store key) and params to ``POST /v1/edit`` and return the edited image."""
        store = self.store
        png = encode_png(image) if store is not None else wire_png(image)
        if len(png) > self.limits.max_request_bytes:
            raise InvalidEditRequest(
                f"the image is {len(png):,} bytes as PNG; {self.name} accepts up to "
                f"{self.limits.max_request_bytes:,} bytes"
            )
        headers = {
            "content-type": "image/png",
            # Only what the call set: the server applies its own defaults, which the served schema
            # cannot always state (a default_factory has none there, and None would be refused).
            PARAMS_HEADER: json.dumps(params.model_dump(mode="json", exclude_unset=True), separators=(",", ":")),
            SEED_HEADER: str(seed),
        }
        if store is not None:
            headers[IMAGE_KEY_HEADER] = store.put(png)  # a no-op for the head image, already stored
            png = b""
        if progress:
            progress(0, 1)  # a cancel requested before the request is sent stops it here
        start = time.perf_counter()
        status, body = self.request("POST", "/v1/edit", content=png, headers=headers)
        if status != 200:
            raise status_error(self.name, status, body)
        try:
            body = self.stored_result(store, body) if store is not None else body
            result = decode_image(body, max_pixels=self.limits.max_pixels, max_bytes=self.limits.max_response_bytes)
        except ImageRejected as exc:
            raise EditFailed(f"{self.name} at {redacted(self.url)} sent back an unusable image: {exc}") from None
        logger.info(
            "remote edit %s: %d bytes out, %d back in %.3fs",
            self.name,
            len(png),
            len(body),
            time.perf_counter() - start,
        )
        if progress:
            progress(1, 1)
        return result

    def stored_result(self, store: SharedStore, body: bytes) -> bytes:
        """The edited image's bytes, read from the shared store under the key the service answered."""
        try:
            key = EditedKey.model_validate_json(body).image
        except ValidationError:
            raise EditFailed(
                f"{self.name} at {redacted(self.url)} answered no image key: {server_message(body)}"
            ) from None
        return store.get(key)

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, bytes]:
        """One request; transport failures become ToolUnavailable or EditFailed naming the service."""
        return http_request(self.client, f"{self.url}{path}", method, self.limits, **kwargs)


def http_request(
    client: httpx.Client, where: str, method: str, limits: RemoteLimits, **kwargs: Any
) -> tuple[int, bytes]:
    """Status and body of one request, reading at most ``limits.max_response_bytes``."""
    url, where = where, redacted(where)  # messages name the service without its credentials
    try:
        with client.stream(method, url, **kwargs) as response:
            return response.status_code, read_limited(response, where, limits.max_response_bytes)
    except httpx.ConnectTimeout:
        raise ToolUnavailable(f"{where} is unreachable: no connection within {limits.connect_timeout_s:g} s") from None
    except httpx.ConnectError as exc:
        raise ToolUnavailable(f"{where} is unreachable: {exc}") from None
    except httpx.TimeoutException:
        raise EditFailed(f"{where} did not answer within {limits.read_timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise EditFailed(f"{where} failed: {type(exc).__name__}: {exc}") from None


def read_limited(response: httpx.Response, where: str, limit: int) -> bytes:
    """The response body, refused as soon as it is known to exceed ``limit`` bytes."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise EditFailed(f"{where} answered {int(declared):,} bytes; the limit is {limit:,} bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise EditFailed(f"{where} answered more than the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def status_error(name: str, status: int, body: bytes) -> Exception:
    """The error for a non-200 answer, carrying the service's own message."""
    message = server_message(body)
    if status == 503:
        return ToolUnavailable(f"{name} is unavailable on its server: {message}")
    if 400 <= status < 500:
        return InvalidEditRequest(f"{name} refused the request (HTTP {status}): {message}")
    return EditFailed(f"{name} failed on its server (HTTP {status}): {message}")


def server_message(body: bytes) -> str:
    """The message of a JSON error body, or the start of a body that is not one (a proxy's page)."""
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        text = " ".join(body.decode("utf-8", "replace").split())
        return text[:200] or "no message"


def connect_remote_tool(
    name: str, url: str, limits: RemoteLimits | None = None, store: SharedStore | None = None
) -> RemoteTool:
    """A tool for the service at ``url``, described by its ``GET /v1/tool``; it must serve ``name``.

    Images travel by key when the service names ``store`` as its image store, as bodies otherwise.

    Raises:
        RegistryError: the service is unreachable, serves another tool, or describes it badly.
    """
    limits = limits or RemoteLimits()
    client = httpx.Client(timeout=limits.timeout())
    try:
        tool_class = _remote_tool_class(name, url, client, limits)
    except BaseException:
        client.close()  # nothing will own it
        raise
    shared = store if store is not None and tool_class.image_store == store.name else None
    return tool_class(url, limits, client, shared)


def _remote_tool_class(name: str, url: str, client: httpx.Client, limits: RemoteLimits) -> type[RemoteTool]:
    """The RemoteTool subclass for the tool that ``url`` describes; see ``connect_remote_tool``."""
    origin = f"remote tool {name!r} at {redacted(url)}"
    try:
        status, body = http_request(client, f"{url.rstrip('/')}/v1/tool", "GET", limits)
    except EditFailed as exc:
        raise RegistryError(f"{origin}: {exc}") from None
    if status != 200:
        raise RegistryError(f"{origin}: GET /v1/tool answered HTTP {status}: {server_message(body)}")
    try:
        info = ToolInfo.model_validate_json(body)
        params = params_model(info.name, info.description, info.params_schema)
        known = {f.name for f in fields(ToolCapabilities)}
        served = {k: v for k, v in info.capabilities.items() if k in known}
        capabilities = ToolCapabilities(**{**served, "device": "remote"})
    except (ValidationError, ValueError, TypeError) as exc:
        raise RegistryError(f"{origin}: GET /v1/tool gave an unusable description: {exc}") from None
    if info.name != name:
        raise RegistryError(f"{origin}: the service serves {info.name!r}, not {name!r}")
    attributes = {
        "name": name,
        "Params": params,
        "capabilities": capabilities,
        "image_store": info.image_store,
        "__doc__": f"{name} served at {redacted(url)}",
    }
    tool_class: type[RemoteTool] = type(f"Remote{params.__name__.removesuffix('Params')}", (RemoteTool,), attributes)
    return tool_class
