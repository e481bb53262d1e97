"""The MCP App revision widget: declared by every tool, served as a valid ui:// resource, and run in headless
Chromium inside a stub host whose bridge sends its tools/call and resources/read to the real MCP server over HTTP."""

from __future__ import annotations

import base64
import importlib.util
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from agent.samples import landscape
from tests.conftest import require_system
from tests.live_servers import uvicorn_thread
from tests.service_helpers import KEY_A, png
from tests.test_browser import CHROMIUM, FLAGS
from tests.test_mcp import require_mcp_extra

WIDGET = "ui://dialogpaint/revisions.html"
# The host page: the widget in a sandboxed iframe; the bridge answers ui/initialize, sends the first tool
# result once the view is initialized, and relays every other request to Python (window.mcp), which calls
# the MCP server. Each relayed call is recorded for the test.
HOST = """<!DOCTYPE html><html><body>
<iframe id="view" sandbox="allow-scripts" style="width:900px;height:700px"></iframe>
<script>
window.calls = [];
const view = document.getElementById("view");
function answer(id, body) { view.contentWindow.postMessage({ jsonrpc: "2.0", id, ...body }, "*"); }
window.addEventListener("message", async (event) => {
  const m = event.data;
  if (!m || m.jsonrpc !== "2.0" || event.source !== view.contentWindow) return;
  if (m.method === "ui/initialize") {
    answer(m.id, { result: { protocolVersion: "2026-01-26", hostInfo: { name: "stub host", version: "0" },
                             hostCapabilities: { serverTools: {}, serverResources: {} },
                             hostContext: { theme: "light" } } });
  } else if (m.method === "ui/notifications/initialized") {
    const result = { jsonrpc: "2.0", method: "ui/notifications/tool-result", params: window.firstResult };
    view.contentWindow.postMessage(result, "*");
  } else if (m.id !== undefined) {
    window.calls.push({ method: m.method, params: m.params });
    try { answer(m.id, { result: JSON.parse(await window.mcp(m.method, JSON.stringify(m.params))) }); }
    catch (error) { answer(m.id, { error: { code: -32603, message: String(error) } }); }
  }
});
</script></body></html>"""


@pytest.fixture
def mcp_http(tmp_path: Path) -> Iterator[str]:
    """`dialogpaint mcp --transport http`'s app, with an API key, under uvicorn on a free port."""
    require_mcp_extra()
    from agent.mcp_server.http import http_app
    from agent.mcp_server.server import Access, build_server
    from agent.service.auth import KeyRing
    from agent.settings import Settings
    from agent.wiring import create_engine

    with create_engine(Settings(data_dir=tmp_path / "data", confirm="never")) as engine:
        access = Access(KeyRing([KEY_A]))
        with uvicorn_thread(http_app(build_server(engine, access), access, "127.0.0.1")) as url:
            yield f"{url}/mcp"


class Tags(HTMLParser):
    """The start tags of a document, to check it is a whole HTML5 page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


@asynccontextmanager
async def mcp_client(url: str) -> AsyncIterator[Any]:
    """The MCP SDK's client over streamable HTTP with the API key."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY_A}"}) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def dumped(result: Any) -> dict[str, Any]:
    """An MCP result as JSON, as a host hands it to a view."""
    return dict(result.model_dump(mode="json", by_alias=True, exclude_none=True))


def test_every_tool_declares_the_widget_and_it_is_served_as_a_valid_mcp_app(mcp_http: str) -> None:
    assert httpx.post(mcp_http, json={"jsonrpc": "2.0", "id": 1, "method": "resources/read"}).status_code == 401

    async def read() -> tuple[Any, Any, Any]:
        async with mcp_client(mcp_http) as client:
            tools = (await client.list_tools()).tools
            listed = {str(r.uri): r for r in (await client.list_resources()).resources}
            return tools, listed, (await client.read_resource(WIDGET)).contents

    tools, listed, contents = anyio.run(read)
    assert {t.name: (t.meta or {}).get("ui", {}).get("resourceUri") for t in tools} == dict.fromkeys(
        ["open_session", "send_message", "answer_confirmation", "undo", "redo", "list_revisions"], WIDGET
    )
    assert listed[WIDGET].mime_type == "text/html;profile=mcp-app"
    (content,) = contents
    assert str(content.uri) == WIDGET and content.mime_type == "text/html;profile=mcp-app"
    page = Tags()
    page.feed(content.text)
    assert page.doctype.lower() == "doctype html" and {"html", "head", "body", "script"} <= set(page.tags)
    assert "connect-src" not in content.text and "fetch(" not in content.text  # no network: the default CSP holds


async def clicked(page: Any, view: Any, locator: Any) -> dict[str, Any]:
    """Click a widget button; the tools/call (other than the listing) the host relayed for it."""
    from playwright.async_api import expect

    before = len(await page.evaluate("window.calls"))
    await locator.click()
    await expect(view.locator("#status")).not_to_have_text("…")
    new = (await page.evaluate("window.calls"))[before:]
    return next(c["params"] for c in new if c["method"] == "tools/call" and c["params"]["name"] != "list_revisions")


def node_button(view: Any, label: str, action: str) -> Any:
    """A button of the tree node whose label is ``label``."""
    return view.locator("li", has=view.locator("> .label", has_text=label)).locator(f"> button[data-action={action}]")


async def press_every_button(page: Any, view: Any, session: str) -> None:
    """Undo, redo, branch and forget through the widget, checking the call each makes and what it shows."""
    from playwright.async_api import expect

    head = view.locator("li.head > .label")
    assert await clicked(page, view, view.locator("#undo")) == {"name": "undo", "arguments": {"session_id": session}}
    await expect(head).to_have_text("apply a sepia tone")
    assert await clicked(page, view, view.locator("#redo")) == {"name": "redo", "arguments": {"session_id": session}}
    await expect(head).to_have_text("sharpen it")
    branch = await clicked(page, view, node_button(view, "add a vignette", "branch"))
    assert branch == {"name": "undo", "arguments": {"session_id": session, "steps": 2}}
    await expect(head).to_have_text("add a vignette")
    for _ in range(2):
        await clicked(page, view, view.locator("#redo"))
    forget = await clicked(page, view, node_button(view, "apply a sepia tone", "forget"))
    assert forget == {"name": "send_message", "arguments": {"session_id": session, "text": "forget edit 2"}}
    await expect(view.locator("#status")).to_contain_text("Forgot 'apply a sepia tone'")


def test_the_widget_in_chromium_shows_the_tree_and_its_buttons_call_the_servers_tools(mcp_http: str) -> None:
    require_system("Chromium", Path(CHROMIUM).exists(), "apt-get install -y chromium")
    require_system("Playwright", importlib.util.find_spec("playwright") is not None, "pip install playwright")
    from playwright.async_api import async_playwright, expect

    async def scenario() -> dict[str, Any]:
        async with mcp_client(mcp_http) as client:
            html = (await client.read_resource(WIDGET)).contents[0].text
            image = base64.b64encode(png(landscape(96, 64))).decode()
            session = (await client.call_tool("open_session", {"image_base64": image})).structured_content["session_id"]
            for text in ("add a vignette", "apply a sepia tone", "sharpen it"):
                edited = await client.call_tool("send_message", {"session_id": session, "text": text})

            async def relay(method: str, params: str) -> str:
                arguments = json.loads(params)
                if method == "tools/call":
                    return json.dumps(dumped(await client.call_tool(arguments["name"], arguments.get("arguments"))))
                if method == "resources/read":
                    return json.dumps(dumped(await client.read_resource(arguments["uri"])))
                raise ValueError(f"the stub host relays no {method}")

            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = await browser.new_page()
                expect.set_options(timeout=30_000)
                await page.expose_function("mcp", relay)
                await page.set_content(HOST)
                await page.evaluate("result => { window.firstResult = result; }", dumped(edited))
                await page.eval_on_selector("#view", "(frame, html) => { frame.srcdoc = html; }", html)
                view = page.frame_locator("#view")
                await expect(view.locator("#status")).to_contain_text("Done: sharpen it")
                await expect(view.locator("li.head > .label")).to_have_text("sharpen it")
                for shown in ("#head", "#before"):  # the head and its parent, as data: URLs
                    assert (await view.locator(shown).get_attribute("src") or "").startswith("data:image/png;base64,")
                await press_every_button(page, view, session)
                await browser.close()
            return dict((await client.call_tool("list_revisions", {"session_id": session})).structured_content)

    listing = anyio.run(scenario)
    by_id = {r["id"]: r for r in listing["revisions"]}
    assert [by_id[r]["instruction"] for r in listing["path"]][1:] == ["add a vignette", "sharpen it"]
