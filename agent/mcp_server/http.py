"""The MCP server over streamable HTTP, behind the HTTP service's bearer keys (401 before any MCP work)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.mcp_server.server import Access
from agent.service.errors import ApiError, error_response


class BearerGate:
    """ASGI middleware: with keys configured, a request without a valid one is answered 401 ``unauthorized``
    in the service's error shape; the tools then bind sessions to the key as the service does.
    """

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the key, then pass the request on."""
        if scope["type"] == "http" and not self.access.keys.dev_mode:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                self.access.principal(headers)
            except ApiError as exc:
                await error_response(exc.code, str(exc.detail), exc.headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def http_app(server: MCPServer, access: Access, host: str) -> ASGIApp:
    """The streamable HTTP app at ``/mcp`` behind the bearer gate."""
    return BearerGate(server.streamable_http_app(host=host), access)
