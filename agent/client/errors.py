"""Client errors: every failure the service answers is raised with its stable code, status and message."""

from __future__ import annotations

import httpx

from tools import safe_json


class ServiceError(Exception):
    """An error the dialogpaint service answered (``code`` is one of its stable codes, docs/service.md)."""

    def __init__(self, code: str, message: str, status: int | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status  # None for an error event inside a streamed turn
        self.retry_after_s = retry_after_s


class Unauthorized(ServiceError):
    """401: no API key, or one the service does not know."""


class NotFound(ServiceError):
    """404: no such session (for this key), revision or route."""


class Conflict(ServiceError):
    """409: the session is busy, or a confirmation is (or is not) pending."""


class Rejected(ServiceError):
    """408, 413, 415, 422: the request itself is wrong (the message names the field or limit)."""


class RetryLater(ServiceError):
    """429 or 503: the service refused for now; ``retry_after_s`` says when to try again."""


class Unreachable(ServiceError):
    """The service could not be reached, or the connection broke before an answer (code ``unreachable``)."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__("unreachable", message)
        self.sent = sent  # False: the connection was never made, so the service did nothing


_BY_STATUS: dict[int, type[ServiceError]] = {
    401: Unauthorized, 404: NotFound, 409: Conflict, 408: Rejected, 413: Rejected, 415: Rejected, 422: Rejected,
    429: RetryLater, 503: RetryLater,
}  # fmt: skip


def error_from_response(response: httpx.Response) -> ServiceError:
    """The exception for an error response (read in full): its code and message from the JSON body."""
    try:
        detail = safe_json.loads(response.content)["error"]  # bounded nesting: a hostile body is just wrong
        code, message = str(detail["code"]), str(detail["message"])[:1000]
    except (ValueError, KeyError, TypeError):  # not the service's JSON shape (a proxy in between, say)
        code, message = "http_error", f"HTTP {response.status_code}: {response.text[:200]}"
    retry = response.headers.get("Retry-After")
    wait = float(retry) if retry is not None and retry.replace(".", "", 1).isdigit() else None
    kind = _BY_STATUS.get(response.status_code, ServiceError)
    return kind(code, message, response.status_code, wait)


def error_from_event(data: dict[str, object]) -> ServiceError:
    """The exception for an ``error`` event that ended a streamed turn."""
    code, message = str(data.get("code", "internal_error")), str(data.get("message", ""))
    kind = RetryLater if code == "state_store_unavailable" else ServiceError
    return kind(code, message)
