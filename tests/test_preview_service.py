"""Previews, step pictures and cancel through the real service app (SSE events, image routes)."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from PIL import Image

from tests.fakes import RecordingTool, ai, call
from tests.service_helpers import KEY_A, KEY_B, auth, parse_sse, send, upload
from tests.test_service import service  # noqa: F401 (the fixture)
from tools.base import ProgressCallback

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class SteppingTool(RecordingTool):
    """A mirror that reports steps until the test's cancel stops it (or 200 steps pass)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()

    def __call__(self, image: Image.Image, params: Any, *, seed: int, progress: ProgressCallback | None = None) -> Any:
        assert progress is not None
        for step in range(200):
            progress(step, 200)
            self.started.set()
            threading.Event().wait(0.05)
        return super().__call__(image, params, seed=seed)


def png_size(response: Any) -> tuple[int, int]:
    assert response.status_code == 200 and response.headers["content-type"] == "image/png", response.text
    return Image.open(io.BytesIO(response.content)).size


def test_preview_event_then_step_pictures_each_served_only_to_their_session(service, model_dir):  # noqa: F811
    from tools.instruct_pix2pix import InstructPix2Pix

    editor = InstructPix2Pix(model_dir, allow_cpu=True, max_side=128, preview_steps=2, preview_side=64)
    edit = call("instruct_pix2pix", instruction="turn the sky purple", steps=4)
    script = [ai(edit), ai(call("confirm_pending", approve=True))]
    client = service(script, tools={editor.name: editor}, confirm="auto", step_preview_every=2)
    session = upload(client, KEY_A).json()
    events = send(client, KEY_A, session["id"], "turn the sky purple")
    (preview,) = [e["data"] for e in events if e["event"] == "preview"]
    reply = events[-1]["data"]
    assert reply["action"] == "confirm" and reply["confirmation"]["preview"]["image"] in preview["image_url"]
    assert png_size(client.get(preview["image_url"], headers=auth(KEY_A))) == (preview["width"], preview["height"])
    assert client.get(preview["image_url"], headers=auth(KEY_B)).status_code == 404  # another key's session
    assert client.get(f"/v1/sessions/{session['id']}", headers=auth(KEY_A)).json()["confirmation"]["preview"]
    approved = client.post(f"/v1/sessions/{session['id']}/confirmation", json={"approve": True}, headers=auth(KEY_A))
    pictures = [e["data"] for e in parse_sse(approved.text) if e["event"] == "progress" and "image_url" in e["data"]]
    assert [p["step"] for p in pictures] == [2]
    assert png_size(client.get(pictures[0]["image_url"], headers=auth(KEY_A))) == (
        16,
        16,
    )  # the latents of the 128x128 working size
    revision = client.get(f"/v1/sessions/{session['id']}/revisions", headers=auth(KEY_A)).json()["revisions"][1]
    assert revision["params"]["steps"] == 4
    root_key = "0" * 64  # any key the session was not shown is refused, stored or not
    refused = client.get(f"/v1/sessions/{session['id']}/previews/{root_key}", headers=auth(KEY_A))
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "preview_not_found"


def test_cancel_stops_the_running_edit_with_no_revision(service):  # noqa: F811
    tool = SteppingTool()
    client = service([ai(call("mirror", instruction="mirror it"))], tools={"mirror": tool}, confirm="never")
    session = upload(client, KEY_A).json()["id"]
    idle = client.post(f"/v1/sessions/{session}/cancel", headers=auth(KEY_A))
    assert idle.status_code == 200 and idle.json() == {"cancelled": False}
    with ThreadPoolExecutor(1) as pool:
        turn = pool.submit(send, client, KEY_A, session, "mirror it")
        assert tool.started.wait(20)
        cancelled = client.post(f"/v1/sessions/{session}/cancel", headers=auth(KEY_A))
        assert cancelled.json() == {"cancelled": True}
        events = turn.result(timeout=30)
    reply = events[-1]["data"]
    assert reply["error"] and "Cancelled" in reply["text"]
    assert len([e for e in events if e["event"] == "progress"]) < 200 and not tool.calls[1:]
    revisions = client.get(f"/v1/sessions/{session}/revisions", headers=auth(KEY_A)).json()["revisions"]
    assert len(revisions) == 1
    assert client.post(f"/v1/sessions/{session}/cancel", headers=auth(KEY_B)).status_code == 404
