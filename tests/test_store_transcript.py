"""The transcript in a LangGraph store (the Agent Server's): items put once, read back in position order."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.store.memory import InMemoryStore

from graphs.storage.store_transcript import StoreTranscript, key


def conversation() -> list[HumanMessage | AIMessage | ToolMessage]:
    return [
        HumanMessage("make it brighter", id="h0"),
        AIMessage("", id="a0", tool_calls=[{"name": "brightness", "args": {"amount": 1.2}, "id": "c0"}]),
        ToolMessage("done", tool_call_id="c0", id="t0"),
        AIMessage("Done: brighter.", id="a1"),
        HumanMessage("undo", id="h1"),
        AIMessage("Undone.", id="a2"),
    ]


def test_messages_are_put_once_and_read_back_as_they_were():
    store, said = InMemoryStore(), conversation()
    transcript = StoreTranscript(store, ("someone",))
    transcript.append("t", 0, said[:4])
    transcript.append("t", 2, [AIMessage("rewritten", id="x"), AIMessage("rewritten", id="y"), *said[4:]])
    assert transcript.read("t", 0, 6)[:4] == said[:4]  # positions 2 and 3 kept as first put
    assert transcript.read("t", 4, 6) == said[4:]
    assert [type(m) for m in transcript.read("t", 0, 6)] == [type(m) for m in said]
    assert [item.key for item in store.search(("someone", "transcript", "t"))] == [key(i) for i in range(6)]
    assert transcript.find("t", "h1", 6) == 4 and transcript.find("t", "h1", 4) is None
    assert transcript.turn_end("t", 0, 6) == 4 and transcript.turn_end("t", 4, 6) == 6
    with pytest.raises(LookupError, match="lacks messages between 4 and 7"):
        transcript.read("t", 4, 7)
    assert StoreTranscript(store).read("t", 0, 0) == []  # another prefix: another namespace
    with pytest.raises(LookupError):
        StoreTranscript(store).read("t", 0, 1)
    transcript.delete("t")
    assert store.search(("someone", "transcript", "t")) == []


def test_keys_sort_as_positions():
    assert key(9) < key(10) < key(999_999_999) and len(key(0)) == len(key(123_456_789))
