"""Whole dialogues through HTTP: clarify -> edit -> undo, the three tool modes, and token streaming."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from agent.session.session import Session
from tests.openai_server import Completion, OpenAIServer, calls, text

pytest.importorskip("langchain_openai")


@pytest.fixture
def open_session(llm_session: Callable[..., Session]) -> Callable[..., Session]:
    return llm_session


def roles(request: dict[str, Any]) -> list[str]:
    return [m["role"] for m in request["messages"]]


@pytest.mark.parametrize("streaming", [False, True])
def test_clarify_confirm_edit_undo_dialogue(open_session, tool, streaming):
    script = [
        calls(("ask_clarification", {"question": "What should I change?", "options": ["mirror it", "nothing"]})),
        calls(("mirror", {"instruction": "mirror the image left to right"})),
        calls(("confirm_pending", {"approve": True})),
        calls(("undo", {"steps": 1})),
    ]
    events: list[dict[str, Any]] = []
    with OpenAIServer(script) as server:
        session = open_session(server.url, confirm="auto")
        send = (lambda t: session.send(t, on_event=events.append)) if streaming else session.send
        replies = [send(t) for t in ("make it better", "mirror it", "yes", "undo that")]
        assert [r.action for r in replies] == ["clarify", "confirm", "edit", "undo"]
        assert replies[0].text == "What should I change? Options: mirror it; nothing."
        assert replies[1].instruction == "mirror the image left to right" and len(tool.calls) == 1
        assert replies[3].head == replies[0].head and len(replies[3].revisions) == 2
        requests = server.chat_requests
        assert len(requests) == 4 and all(r.get("stream", False) is streaming for r in requests)
        # Every tool call in the history is answered before the next request (valid OpenAI history).
        assert roles(requests[3])[-4:] == ["assistant", "tool", "assistant", "user"]  # call, result, reply
        assert "confirm_pending" in {t["function"]["name"] for t in requests[2]["tools"]}
        assert "Awaiting the user's confirmation" in requests[2]["messages"][0]["content"]
        assert "mirror the image left to right" in requests[3]["messages"][0]["content"]  # image history
    if streaming:
        assert {"kind": "step", "node": "undo"} in events


def test_reply_text_streams_token_by_token(open_session):
    answer = "I can brighten, blur, crop or mirror your image, and undo anything."
    events: list[dict[str, Any]] = []
    with OpenAIServer([text(answer)]) as server:
        reply = open_session(server.url).send("what can you do?", on_event=events.append)
        tokens = [e["text"] for e in events if e["kind"] == "token"]
        assert reply.text == answer and "".join(tokens) == answer
        assert len(tokens) == len(answer.split())  # one SSE chunk per word, each delivered on its own
        assert server.chat_requests[0]["stream"] is True


def test_required_mode_uses_a_reply_tool_for_chat(open_session, tool):
    script = [calls(("reply", {"text": "Hello! Send me an edit."})), calls(("mirror", {"instruction": "mirror it"}))]
    events: list[dict[str, Any]] = []
    with OpenAIServer(script) as server:
        session = open_session(server.url, llm_tool_mode="required", confirm="never")
        chat = session.send("hi", on_event=events.append)
        assert chat.action == "chat" and chat.text == "Hello! Send me an edit."
        assert [e["text"] for e in events if e["kind"] == "token"] == ["Hello! Send me an edit."]
        assert session.send("mirror it").action == "edit" and len(tool.calls) == 1
        first, second = server.chat_requests
        assert first["tool_choice"] == "required" and "reply" in {t["function"]["name"] for t in first["tools"]}
        assert "tool calls only" in first["messages"][0]["content"]
        # The chat answer is kept as plain assistant text, so the history has no unanswered call.
        assert second["messages"][-2] == {"role": "assistant", "content": "Hello! Send me an edit."}


def test_required_mode_reply_mixed_with_an_edit_is_repaired(open_session, tool):
    mixed = calls(("reply", {"text": "Sure"}), ("mirror", {"instruction": "mirror it"}))
    with OpenAIServer([mixed, calls(("mirror", {"instruction": "mirror it"}))]) as server:
        session = open_session(server.url, llm_tool_mode="required", confirm="never")
        assert session.send("mirror it").action == "edit" and len(server.chat_requests) == 2
        tool_texts = [m["content"] for m in server.chat_requests[1]["messages"] if m["role"] == "tool"]
        assert any("reply must be the only call" in t for t in tool_texts)


def decision(reply: str = "", *tool_calls: tuple[str, dict[str, Any]]) -> Completion:
    return text(json.dumps({"reply": reply, "calls": [{"name": n, "arguments": a} for n, a in tool_calls]}))


def test_json_mode_reads_calls_and_replies_from_structured_output(open_session, tool):
    script = [
        decision("Hi! What should I change?"),
        text('{"reply": "", "calls": [{"name": "mirror"'),  # broken JSON (finish "stop"): a repair round
        decision("", ("mirror", {"instruction": "mirror the image"})),
        decision("", ("undo", {"steps": 1})),
    ]
    events: list[dict[str, Any]] = []
    with OpenAIServer(script) as server:
        session = open_session(server.url, llm_tool_mode="json", confirm="never")
        chat = session.send("hello", on_event=events.append)
        assert chat.action == "chat" and chat.text == "Hi! What should I change?"
        assert [e["text"] for e in events if e["kind"] == "token"] == [chat.text]  # never the raw JSON
        assert session.send("mirror it").action == "edit" and len(tool.calls) == 1
        assert session.send("undo").action == "undo"
        requests = server.chat_requests
        assert len(requests) == 4 and all("tools" not in r for r in requests)
        fmt = requests[0]["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "decision"
        variants = fmt["json_schema"]["schema"]["properties"]["calls"]["items"]["anyOf"]
        assert {v["properties"]["name"]["enum"][0] for v in variants} >= {"mirror", "undo", "ask_clarification"}
        assert "- mirror:" in requests[0]["messages"][0]["content"]  # the tools are listed in the prompt
        repair = [m["content"] for m in requests[2]["messages"] if m["role"] == "tool"]
        assert any("not JSON" in t for t in repair)


def test_conversation_sent_is_trimmed_to_the_context_budget(open_session):
    words = "please describe the colours of this picture in great detail " * 6  # ~90 tokens a turn
    with OpenAIServer([text(f"Answer {n}.") for n in range(8)]) as server:
        session = open_session(server.url, context_tokens=500)
        for n in range(8):
            session.send(f"{n}: {words}")
        first, last = server.chat_requests[0], server.chat_requests[-1]
        assert roles(first) == ["system", "user"]
        sent = last["messages"][1:]
        assert sent[0]["role"] == "user" and sent[-1]["content"].startswith("7: ")
        assert len(sent) < 15 and not any(m["content"].startswith("0: ") for m in sent)  # oldest turns dropped
        assert len(json.dumps(sent)) // 4 <= 500 + 100  # about the budget (approximate token count)


def test_a_message_longer_than_the_budget_is_still_sent(open_session):
    # Trimming to the budget dropped the whole conversation, so the model answered a prompt with no
    # user message at all. The current turn is always sent; a server that cannot fit it says so.
    long = "make the sky a deep purple with orange streaks " * 60  # ~700 tokens, over a 500-token budget
    with OpenAIServer([text("Hi."), text("Done.")]) as server:
        session = open_session(server.url, context_tokens=500, max_message_chars=5000)
        session.send("hello")
        session.send(long)
        sent = server.chat_requests[-1]["messages"]
        assert roles(server.chat_requests[-1]) == ["system", "user"] and sent[-1]["content"] == long.strip()


def test_a_correction_undoes_and_edits_in_one_message(open_session, tool):
    # The prompt says: "no, I meant ..." -> undo, then the corrected edit, in one message. The graph
    # must accept that combination as it stands (no repair round) and branch from the original.
    script = [
        calls(("mirror", {"instruction": "mirror the image"})),
        calls(("undo", {"steps": 1}), ("mirror", {"instruction": "mirror the top half of the image"})),
    ]
    with OpenAIServer(script) as server:
        session = open_session(server.url, confirm="never")
        first = session.send("mirror it")
        second = session.send("no, I meant only the top half")
        assert len(server.chat_requests) == 2 and len(tool.calls) == 2
        assert second.instruction == "mirror the top half of the image" and len(second.revisions) == 3
        parents = {r["id"]: r["parent"] for r in second.revisions}
        assert parents[second.head] == parents[first.head] == second.revisions[0]["id"]
        assert "Exact: mirror." in server.chat_requests[0]["messages"][0]["content"]
