"""The chat page in headless Chromium against `dialogpaint serve` with the embedded default policy."""

from __future__ import annotations

import importlib.util
import io
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat

from agent.samples import landscape
from tests.conftest import require_system
from tests.live_servers import dialogpaint_serve
from tests.service_helpers import KEY_A, require_serve_extra

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
]  # fmt: skip


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`dialogpaint serve` on a free loopback port with one API key, stopped after the test."""
    require_serve_extra()
    with dialogpaint_serve(tmp_path, DIALOGPAINT_API_KEYS=KEY_A) as base:
        yield base


def mean_brightness(png: bytes) -> float:
    return sum(ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L")).mean)


@contextmanager
def chromium_page(base: str) -> Iterator[Any]:
    """A page of headless Chromium opened at ``base``, 30 s timeouts (skips without Chromium or Playwright)."""
    require_system("Chromium", Path(CHROMIUM).exists(), "apt-get install -y chromium")
    require_system("Playwright", importlib.util.find_spec("playwright") is not None, "pip install playwright")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)
        page.goto(base)
        yield page
        browser.close()


def test_clarify_confirm_edit_undo_in_a_real_browser(server, tmp_path):
    picture = tmp_path / "landscape.png"
    landscape().save(picture)
    with chromium_page(server) as page:
        from playwright.sync_api import expect

        expect(page.locator("#key-form")).to_be_visible()  # the server wants a key: the page asks for it
        page.fill("#key", KEY_A)
        page.click("text=Use key")
        expect(page.locator("#key-form")).to_be_hidden()
        page.set_input_files("#file", str(picture))
        page.click("text=Start a session")
        current = page.locator("#current")
        expect(current).to_have_attribute("data-revision", re.compile(r"^r_.+"))
        original = current.get_attribute("data-revision")
        assert current.evaluate("img => img.complete && img.naturalWidth") == 640
        before = mean_brightness(current.screenshot())

        def say(text: str) -> None:
            page.fill("#message", text)
            page.press("#message", "Enter")

        say("make it look better")
        expect(page.locator("#log li.assistant .action").last).to_have_text("clarify")
        expect(page.locator("#confirm")).to_be_hidden()
        say("brighter and more vivid colours")
        expect(page.locator("#confirm")).to_be_visible()  # an edit that resolved a question is confirmed first
        expect(page.locator("#undo")).to_be_disabled()  # the server would refuse it until yes or no
        page.click("#yes")
        expect(page.locator("#log li.assistant .action").last).to_have_text("edit")
        expect(page.locator("#confirm")).to_be_hidden()
        expect(page.locator("#strip li")).to_have_count(2)
        expect(current).not_to_have_attribute("data-revision", original or "")
        page.wait_for_function("() => document.querySelector('#current').complete")
        edited = current.screenshot()
        assert mean_brightness(edited) > before + 5  # the brighter revision is what is on screen
        page.screenshot(path=str(tmp_path / "after-edit.png"))

        page.click("#undo")
        expect(current).to_have_attribute("data-revision", original or "")
        page.wait_for_function("() => document.querySelector('#current').complete")
        assert abs(mean_brightness(current.screenshot()) - before) < 2
        expect(page.locator("#strip li.head")).to_have_count(1)
        expect(page.locator("#strip li.on-path")).to_have_count(1)  # the edit is kept, off the path, for redo
        page.screenshot(path=str(tmp_path / "after-undo.png"))  # kept by pytest for a person to look at
        a_refused_message_is_shown_and_given_back(page, say)


def a_refused_message_is_shown_and_given_back(page: Any, say: Callable[[str], None]) -> None:
    from playwright.sync_api import expect

    say("x" * 2001)  # over the limit: refused before the turn starts
    expect(page.locator("#log li.error").last).to_contain_text("the limit is 2000")
    expect(page.locator("#message")).to_have_value("x" * 2001)
    assert page.locator("#log li.user").last.evaluate("li => li.scrollWidth <= li.clientWidth")  # wrapped
