"""/v1/chat/completions on a real `dialogpaint serve`, driven by the `openai` client as a chat UI would."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from agent.samples import landscape
from tests.live_servers import dialogpaint_serve, fetch
from tests.service_helpers import KEY_A, KEY_B, require_serve_extra

openai = pytest.importorskip("openai")

IMAGE = re.compile(r"!\[[^\]]*\]\((http://127\.0\.0\.1:\d+/dialogpaint/images/([0-9a-f]{64})\.png\?sig=[\w-]+)\)")
MARKER = re.compile(r"^\[dialogpaint-session\]: /v1/sessions/(\S+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_serve_extra()
    with dialogpaint_serve(  # every edit proposed: the confirmation is what crosses the chat API as a question
        tmp_path_factory.mktemp("serve"), DIALOGPAINT_API_KEYS=f"{KEY_A},{KEY_B}", DIALOGPAINT_CONFIRM="always"
    ) as url:
        yield url


def photo_part() -> tuple[dict[str, Any], Image.Image]:
    image = landscape().resize((96, 64))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {"type": "image_url", "image_url": {"url": url}}, image


class ChatUI:
    """What an OpenAI-compatible chat UI does: keep the history, resend it all each turn."""

    def __init__(self, client: Any, *, stream: bool) -> None:
        self.client, self.stream, self.history = client, stream, []  # type: list[dict[str, Any]]

    def say(self, content: Any) -> str:
        self.history.append({"role": "user", "content": content})
        if self.stream:
            parts = self.client.chat.completions.create(model="dialogpaint", messages=self.history, stream=True)
            text = "".join(c.choices[0].delta.content or "" for c in parts if c.choices)
        else:
            done = self.client.chat.completions.create(model="dialogpaint", messages=self.history)
            assert done.choices[0].finish_reason == "stop"
            text = done.choices[0].message.content
        self.history.append({"role": "assistant", "content": text})
        return text


def image_key(text: str) -> str | None:
    found = IMAGE.search(text)
    return found.group(2) if found else None


@pytest.mark.parametrize("stream", [False, True])
def test_clarify_confirm_edit_undo_as_a_chat_model(service, stream):
    client = openai.OpenAI(base_url=f"{service}/v1", api_key=KEY_A, max_retries=0)
    ui = ChatUI(client, stream=stream)
    part, image = photo_part()
    said = ui.say([{"type": "text", "text": "make it red"}, part])
    assert "Which part" in said and IMAGE.search(said)  # clarify, with the uploaded image shown
    url = IMAGE.search(said).group(1)
    status, png = fetch(url)
    assert status == 200 and Image.open(io.BytesIO(png)).size == image.size
    assert fetch(url.split("?")[0])[0] == 401  # the image route wants the link's signature
    session = MARKER.search(said).group(1)
    upload = image_key(said)

    said = ui.say("the whole image")
    assert "Shall I go ahead?" in said and image_key(said) is None  # a proposal moves nothing
    said = ui.say("yes")
    assert said.startswith("Done") and image_key(said) not in (None, upload)
    said = ui.say("undo")
    assert said.startswith("Undid") and image_key(said) == upload
    assert {MARKER.search(m["content"]).group(1) for m in ui.history if m["role"] == "assistant"} == {session}

    revisions = client.get(f"/sessions/{session}/revisions", cast_to=object)  # the same session, on the REST API
    assert [r["tool"] for r in revisions["revisions"]] == [None, "tint"]


def test_conversation_id_in_the_body_carries_the_session(service):
    client = openai.OpenAI(base_url=f"{service}/v1", api_key=KEY_A, max_retries=0)
    assert [m.id for m in client.models.list()] == ["dialogpaint"]  # what a chat UI offers to pick
    part, _ = photo_part()
    first = client.chat.completions.create(model="dialogpaint", messages=[{"role": "user", "content": [part]}])
    text = first.choices[0].message.content
    assert text.startswith("I have your image") and image_key(text)
    session = MARKER.search(text).group(1)
    for said, reply in (("make it black and white", "Shall I go ahead?"), ("yes", "Done")):
        answer = client.chat.completions.create(
            model="dialogpaint",
            messages=[{"role": "user", "content": said}],
            extra_body={"conversation_id": session},
        )
        assert reply in answer.choices[0].message.content


def test_without_a_valid_key_401_and_another_keys_session_is_not_found(service):
    part, _ = photo_part()
    for key in ("not-a-configured-key-123456", ""):
        client = openai.OpenAI(base_url=f"{service}/v1", api_key=key or "x", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model="dialogpaint", messages=[{"role": "user", "content": [part]}])
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
    owner = openai.OpenAI(base_url=f"{service}/v1", api_key=KEY_A, max_retries=0)
    first = owner.chat.completions.create(model="dialogpaint", messages=[{"role": "user", "content": [part]}])
    session = MARKER.search(first.choices[0].message.content).group(1)
    other = openai.OpenAI(base_url=f"{service}/v1", api_key=KEY_B, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.chat.completions.create(
            model="dialogpaint", messages=[{"role": "user", "content": "undo"}], extra_body={"conversation_id": session}
        )


def test_bad_requests_say_what_is_wrong(service):
    client = openai.OpenAI(base_url=f"{service}/v1", api_key=KEY_A, max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError, match="attach an image"):
        client.chat.completions.create(model="dialogpaint", messages=[{"role": "user", "content": "make it red"}])
    remote = {"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest"}}
    with pytest.raises(openai.UnprocessableEntityError, match="not fetched"):
        client.chat.completions.create(model="dialogpaint", messages=[{"role": "user", "content": [remote]}])
