"""Service errors: one JSON shape, ``{"error": {"code", "message"}}``, with stable codes and no tracebacks."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from agent.session.idempotency import MAX_KEY_CHARS, RequestKeyRejected
from agent.session.refusals import ConfirmationPending, MessageRejected, SessionBusy, SessionNotFound
from tools.errors import (
    CheckpointRejected,
    DialogPaintError,
    ImageCorrupt,
    ImageMissing,
    ImageNotFound,
    ImageRejected,
    ImageStoreUnavailable,
    StateStoreUnavailable,
)

logger = logging.getLogger(__name__)

# Every code the service answers with, its status, and when. The OpenAPI schema is built from this.
CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (422, "The body or a parameter is malformed (the message says which field)."),
    "unauthorized": (401, "No bearer API key, or a key that is not configured."),
    "session_not_found": (404, "No such session for this API key (another key's session looks the same)."),
    "revision_not_found": (404, "No such revision in this session."),
    "image_not_found": (404, "No stored image has this key (a chat reply's image link)."),
    "preview_not_found": (404, "This session was shown no such preview or step picture."),
    "session_corrupt": (500, "The session's saved state holds data it never holds (tampered?); it was not loaded."),
    "image_missing": (500, "The revision exists but its stored image is gone; other revisions may still be intact."),
    "image_corrupt": (500, "The revision's stored image no longer matches its sha256; it is not served."),
    "not_found": (404, "No such route."),
    "method_not_allowed": (405, "The route exists but not with this method."),
    "session_busy": (409, "The session is still handling a previous request; retry when it has finished."),
    "no_pending_confirmation": (409, "Nothing in the session awaits a yes or no."),
    "confirmation_pending": (409, "An edit awaits a yes or no; answer it before undo or redo."),
    "body_timeout": (408, "The request body did not arrive in time (a slow upload); send it faster or smaller."),
    "payload_too_large": (413, "The request body is over the limit (checked before it is parsed)."),
    "unsupported_media_type": (415, "The upload is not declared as PNG, JPEG or WebP."),
    "image_rejected": (
        422,
        "The upload is not a valid PNG, JPEG or WebP image within the pixel, side and aspect-ratio limits.",
    ),
    "message_rejected": (422, "The message is empty, over the length limit, or holds a control character."),
    "idempotency_key_rejected": (
        422,
        f"The Idempotency-Key is not 1-{MAX_KEY_CHARS} of A-Z a-z 0-9 . _ : -, or was used for another message.",
    ),
    "rate_limited": (429, "This API key has made too many requests; see Retry-After."),
    "too_many_runs": (429, "This API key already has its most runs executing or queued; see Retry-After."),
    "overloaded": (503, "The queue for editing work is full; see Retry-After."),
    "state_store_unavailable": (
        503,
        "The session or image store cannot be used now (locked, full, down); see Retry-After.",
    ),
    "unhealthy": (503, "/healthz: a check failed; the body's `checks` names it."),
    "internal_error": (500, "A bug on our side; it is logged, the details are not sent."),
}

_DOMAIN_CODES: tuple[tuple[type[DialogPaintError], str], ...] = (
    (SessionNotFound, "session_not_found"),
    (CheckpointRejected, "session_corrupt"),
    (ImageMissing, "image_missing"),  # before ImageNotFound, its base
    (ImageCorrupt, "image_corrupt"),
    (ImageNotFound, "revision_not_found"),
    (SessionBusy, "session_busy"),
    (ConfirmationPending, "confirmation_pending"),
    (MessageRejected, "message_rejected"),
    (RequestKeyRejected, "idempotency_key_rejected"),
    (ImageRejected, "image_rejected"),
    (StateStoreUnavailable, "state_store_unavailable"),
)
_STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


class ErrorDetail(BaseModel):
    """What went wrong: a stable machine-readable code and a message for people."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(HTTPException):
    """An error answered with one of the stable codes (see ``CODES``)."""

    def __init__(self, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=CODES[code][0], detail=message, headers=headers)
        self.code = code


def domain_error(exc: DialogPaintError) -> ApiError:
    """The API error for an error raised by the session or the image decoder."""
    code = next((code for kind, code in _DOMAIN_CODES if isinstance(exc, kind)), "invalid_request")
    return ApiError(code, exc.public if isinstance(exc, ImageStoreUnavailable) else str(exc))


def error_response(code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The JSON response for an error code."""
    body = ErrorBody(error=ErrorDetail(code=code, message=message))
    return JSONResponse(body.model_dump(), status_code=CODES[code][0], headers=headers)


def responses(*codes: str, streaming: bool = False) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry documenting these error codes (grouped by status).

    Args:
        streaming: the route answers Server-Sent Events. FastAPI gives a ``model`` the route's media
            type, but errors are JSON even there, so they name the ErrorBody schema (which the JSON
            routes register) under ``application/json`` instead.
    """
    by_status: dict[int, list[str]] = {}
    for code in (*codes, "invalid_request", "internal_error"):
        by_status.setdefault(CODES[code][0], []).append(code)
    body: dict[str, Any] = (
        {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
        if streaming
        else {"model": ErrorBody}
    )
    documented: dict[int | str, dict[str, Any]] = {}
    for status, found in sorted(by_status.items()):
        described = " ".join(f"`{c}`: {CODES[c][1]}" for c in sorted(set(found)))
        documented[status] = {**body, "description": described}
        if status in (429, 503):
            documented[status]["headers"] = {"Retry-After": RETRY_AFTER}
    return documented


RETRY_AFTER = {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}


def invalid_message(error: Mapping[str, Any]) -> str:
    """The message for FastAPI's first validation error; a body that is not JSON says so."""
    if error.get("type") == "json_invalid":  # FastAPI puts the character position where a field goes
        return f"the body is not valid JSON (character {error['loc'][-1]}): {error['ctx']['error']}"
    if tuple(error["loc"]) == ("body",) and error.get("type") == "model_attributes_type":
        return "the body must be a JSON object, sent with 'Content-Type: application/json'"
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def count_refusal(app: Any, code: str) -> None:
    """Count a 429 or 503 answer in the running service's metrics (none before its lifespan started)."""
    service = getattr(app.state, "service", None)
    if service is not None and CODES.get(code, (500, ""))[0] in (429, 503):
        service.metrics.refused(code)


def install_handlers(app: FastAPI, retry_after_s: int) -> None:
    """Answer every error, ours or the framework's, in the one JSON shape; log bugs, never send them.

    A storage fault (locked, full or unreachable store) is 503 state_store_unavailable, not a bug.
    """
    from agent.service.health import storage_fault

    retry = {"Retry-After": str(retry_after_s)}

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = exc.code if isinstance(exc, ApiError) else _STATUS_CODES.get(exc.status_code, "invalid_request")
        count_refusal(request.app, code)
        return error_response(code, str(exc.detail), exc.headers)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        return error_response("invalid_request", invalid_message(first))

    async def domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DialogPaintError)
        error = domain_error(exc)
        if error.status_code >= 500:  # ours, e.g. a lost image: logged, and the message says what is lost
            logger.error("%s on %s %s: %s", error.code, request.method, request.url.path, exc)
        count_refusal(request.app, error.code)
        return error_response(error.code, str(error.detail), retry if CODES[error.code][0] == 503 else None)

    async def bug(request: Request, exc: Exception) -> JSONResponse:
        if (fault := storage_fault(exc)) is not None:
            logger.warning("storage fault on %s %s: %r", request.method, request.url.path, exc)
            count_refusal(request.app, "state_store_unavailable")
            return error_response("state_store_unavailable", str(fault), retry)
        logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response("internal_error", "internal error; it has been logged")

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(DialogPaintError, domain)
    app.add_exception_handler(Exception, bug)
