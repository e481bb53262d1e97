"""Security headers on every response: no sniffing, no framing, no referrer, a CSP, no caching of session JSON."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The chat page loads only its own script and stylesheet, shows revisions as blob: URLs (fetched with
# the bearer key) and has a data: favicon; nothing may frame it.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs page loads Swagger UI from its CDN and starts it with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"  # JSON, SSE and images are never documents to run
DOCS_PATHS = ("/docs", "/redoc")
ALWAYS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def csp_for(path: str) -> str:
    """The Content-Security-Policy for a path: the page's, the docs', or none at all for the API."""
    if path == "/" or path.startswith("/static/"):
        return PAGE_CSP
    return DOCS_CSP if path.startswith(DOCS_PATHS) else API_CSP


class SecurityHeaders:
    """ASGI middleware, outermost, so errors answered by any layer carry the headers too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the response's start message; ``Cache-Control`` only where none is set."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {**ALWAYS, "Content-Security-Policy": csp_for(path)}.items():
                    headers[name] = value
                if (path.startswith("/v1/") or path == "/healthz") and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"  # sessions are private; images set their own
            await send(message)

        await self.app(scope, receive, with_headers)
