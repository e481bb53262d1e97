"""The MCP App of the server (io.modelcontextprotocol/ui, stable 2026-01-26): the revision widget.

Each tool declares ``_meta.ui.resourceUri``, so a host that supports MCP Apps renders its result in
the widget: the head image, a before/after view (the head's parent) and the revision tree, with
undo / redo / branch / forget buttons (and apply / discard for a proposed edit) that call the
server's own tools through the host's ``tools/call`` bridge. Hosts without MCP Apps see the same
tool results as before. The widget makes no network request (images arrive as base64 in tool
results and revision resources), so it runs under the spec's restrictive default CSP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WIDGET_URI = "ui://dialogpaint/revisions.html"
MCP_APP_MIME = "text/html;profile=mcp-app"
TOOL_META: dict[str, Any] = {"ui": {"resourceUri": WIDGET_URI}}
RESOURCE_META: dict[str, Any] = {"ui": {"prefersBorder": True}}  # no csp: it needs no outside origin
WIDGET = Path(__file__).parent / "static" / "revisions.html"


def widget_html() -> str:
    """The widget's HTML document (served as the ui:// resource)."""
    return WIDGET.read_text(encoding="utf-8")
