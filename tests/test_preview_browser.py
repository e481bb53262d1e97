"""The page in headless Chromium: a proposal's preview, a diffusion edit sharpening step by step, cancel.

A real uvicorn server on 127.0.0.1 serves the real app around the tiny random-weight InstructPix2Pix
and a scripted dialogue model; the browser talks to it over HTTP as a user's would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.samples import landscape
from agent.settings import Settings
from tests.fakes import ScriptedChatModel, ai, call
from tests.live_servers import uvicorn_thread
from tests.service_helpers import KEY_A, require_serve_extra
from tests.test_browser import chromium_page

pytestmark = pytest.mark.usefixtures("one_torch_thread")
HOLD_AT = 2  # the step at which a held edit waits for the test


class Held:
    """A progress callback that, after reporting step HOLD_AT, waits until the test releases it."""

    def __init__(self, progress: Any, release: threading.Event) -> None:
        self.progress, self.release, self.every = progress, release, progress.every

    def frame(self, step: int, image: Any) -> None:
        self.progress.frame(step, image)

    def __call__(self, step: int, total: int) -> None:
        self.progress(step, total)
        if step == HOLD_AT:
            assert self.release.wait(30), "the test never released the edit"


def held_editor(model_dir: Path) -> Any:
    from tools.instruct_pix2pix import InstructPix2Pix

    class HeldEditor(InstructPix2Pix):
        """The real tool; while ``hold`` is set its edits wait at step HOLD_AT (so a click lands mid-edit)."""

        hold = False
        release = threading.Event()

        def __call__(self, image: Any, params: Any, *, seed: int, progress: Any = None) -> Any:
            progress = Held(progress, self.release) if self.hold else progress
            return super().__call__(image, params, seed=seed, progress=progress)

    return HeldEditor(model_dir, allow_cpu=True, max_side=128, preview_steps=2, preview_side=64)


@pytest.fixture
def served(tmp_path: Path, model_dir: Path) -> Iterator[tuple[str, Any]]:
    require_serve_extra()
    from agent.service.app import create_app
    from agent.wiring import create_engine

    editor = held_editor(model_dir)
    edits = [call("instruct_pix2pix", instruction=text, steps=6) for text in ("turn the sky purple", "make it snowy")]
    yes = call("confirm_pending", approve=True)
    script = [ai(edits[0]), ai(yes), ai(edits[1]), ai({**yes, "id": "call_yes_again"})]
    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY_A, confirm="auto", step_preview_every=2)
    engine = create_engine(settings, model=ScriptedChatModel(script=script), tools={editor.name: editor})
    try:
        with uvicorn_thread(create_app(settings, engine)) as base:
            try:
                yield base, editor, engine
            finally:
                editor.release.set()
    finally:
        engine.close()


def test_preview_then_sharpening_steps_then_cancel_in_a_real_browser(served, tmp_path):
    base, editor, engine = served
    picture = tmp_path / "landscape.png"
    landscape().save(picture)
    with chromium_page(base) as page:
        from playwright.sync_api import expect

        page.fill("#key", KEY_A)
        page.click("text=Use key")
        page.set_input_files("#file", str(picture))
        page.click("text=Start a session")
        expect(page.locator("#strip li")).to_have_count(1)

        def say(text: str) -> None:
            page.fill("#message", text)
            page.press("#message", "Enter")

        say("turn the sky purple")
        expect(page.locator("#confirm")).to_be_visible()
        expect(page.locator("#preview-box")).to_be_visible()  # the quick preview beside yes and no
        page.wait_for_function("() => document.querySelector('#preview').complete")
        assert page.locator("#preview").evaluate("img => img.naturalWidth") == 64  # the preview's size
        expect(page.locator("#strip li")).to_have_count(1)  # a preview is not a revision
        page.evaluate(
            """() => { window.steps = [];
            new MutationObserver(() => { const s = document.querySelector('#current').dataset.step;
              if (s && !window.steps.includes(s)) window.steps.push(s); })
            .observe(document.querySelector('#current'), { attributes: true }); }"""
        )
        page.click("#yes")
        expect(page.locator("#strip li")).to_have_count(2)
        assert page.evaluate("window.steps") == ["2", "4"]  # the step pictures were shown as the edit ran
        current = page.locator("#current")
        expect(current).not_to_have_class("sharpening")  # the finished revision replaced them
        expect(page.locator("#preview-box")).to_be_hidden()
        page.screenshot(path=str(tmp_path / "after-edit.png"))

        a_running_edit_is_cancelled_from_the_page(page, say, editor, engine)


def a_running_edit_is_cancelled_from_the_page(page: Any, say: Any, editor: Any, engine: Any) -> None:
    from playwright.sync_api import expect

    current = page.locator("#current")
    editor.hold = True
    say("make it snowy")
    expect(page.locator("#preview-box")).to_be_visible()
    page.click("#yes")
    expect(page.locator("#cancel")).to_be_visible()  # the edit is running (held at step 2)
    expect(current).to_have_attribute("data-step", str(HOLD_AT))
    page.click("#cancel")
    session = page.evaluate("sessionStorage.getItem('dialogpaint.session')")
    flag = engine.slot(session).cancel
    deadline = time.monotonic() + 10
    while not flag.is_set() and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert flag.is_set()  # the button reached the server while the edit was still running
    editor.release.set()  # the edit goes on to its next step, where the cancel stops it
    expect(page.locator("#log li.error").last).to_contain_text("Cancelled")
    expect(page.locator("#strip li")).to_have_count(2)  # no revision
    expect(page.locator("#cancel")).to_be_hidden()
