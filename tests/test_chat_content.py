"""Images in chat messages (content blocks, data URLs) and the words a reviewer's decision stands for."""

from __future__ import annotations

import base64

import pytest

from agent.session.chat_content import image_link, signature_ok, split_content
from graphs.review import decision_words
from tools.errors import ImageRejected

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
B64 = base64.b64encode(PNG).decode()


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image", "base64": B64, "mime_type": "image/png"},  # LangChain v1
        {"type": "image", "source_type": "base64", "data": B64, "mime_type": "image/png"},  # v0, agent-chat-ui
        {"type": "image", "url": f"data:image/png;base64,{B64}"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64}"}},  # OpenAI
        {"type": "image_url", "image_url": f"data:image/png;base64,{B64}"},
    ],
)
def test_every_image_block_shape_gives_the_bytes_and_the_words(block):
    assert split_content([{"type": "text", "text": " make it red "}, block]) == ("make it red", [PNG])


def test_text_only_content_has_no_image():
    assert split_content("undo") == ("undo", [])
    assert split_content([{"type": "text", "text": "a"}, "b"]) == ("a b", [])


@pytest.mark.parametrize(
    ("parts", "problem"),
    [
        ([{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}], "not fetched"),
        ([{"type": "image", "source_type": "url", "url": "http://10.0.0.1/x.png"}], "not fetched"),
        ([{"type": "image", "base64": "not base64!"}], "not valid base64"),
        ([{"type": "image", "base64": B64}] * 2, "carries 2 images; the limit is 1"),
        ([{"type": "audio", "base64": B64}], "unsupported message content part 'audio'"),
    ],
)
def test_bad_parts_are_refused_with_the_reason(parts, problem):
    with pytest.raises(ImageRejected, match=problem):
        split_content(parts)


def test_image_links_are_signed_only_when_keys_are_configured():
    key = "ab" * 32
    assert image_link("http://h", None, key) == f"http://h/dialogpaint/images/{key}.png"
    keys = [b"k" * 20, b"j" * 20]
    for secret in (b"k" * 20, b"j" * 20):  # signed by either configured key
        signature = image_link("http://h", secret, key).split("?sig=")[1]
        assert signature_ok(keys, key, signature) and not signature_ok(keys, key, None)
        assert not signature_ok(keys, "cd" * 32, signature)  # a signature is for one image
        assert not signature_ok([b"x" * 20], key, signature)  # and by one key
    assert signature_ok([], key, None)  # dev mode: loopback, no keys


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("yes please", "yes please"),
        ({"decisions": [{"type": "approve"}]}, "yes"),
        ([{"type": "approve"}], "yes"),
        ({"decisions": [{"type": "reject", "message": "not now"}]}, "no"),
        (
            {"decisions": [{"type": "edit", "edited_action": {"name": "tint", "args": {"instruction": "sepia"}}}]},
            "sepia",
        ),
        ([{"type": "accept", "args": None}], "yes"),  # the older HumanInterrupt response
    ],
)
def test_decisions_become_the_words_of_an_answer(answer, words):
    assert decision_words(answer) == words


def test_an_edit_without_an_instruction_or_an_unknown_decision_is_refused():
    with pytest.raises(ValueError, match=r"edited_action\.args\.instruction"):
        decision_words({"decisions": [{"type": "edit", "edited_action": {"name": "tint", "args": {}}}]})
    with pytest.raises(ValueError, match="unknown decision type 'maybe'"):
        decision_words({"decisions": [{"type": "maybe"}]})
