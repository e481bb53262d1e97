"""The full transcript in a LangGraph store (``BaseStore``): where the LangGraph server lets a graph keep it.

On the LangGraph server (``langgraph dev``, the Agent Server) the graph gets the server's checkpointer
and the server's long-term store, and no database of its own, so the transcript table of
``graphs.storage.transcript`` has nowhere to live. The store does: each message the state's window
lets go (``graphs.window``) is one item at ``(*prefix, "transcript", thread_id)``, keyed by its position
in the conversation zero-padded (``000000042``), so the keys sort in conversation order whatever order a
store lists items in. An item is put only if its key is not there yet: nothing is ever rewritten, and a
step re-run after a crash puts nothing new. The item is the message as the server's API renders it
(``model_dump``) plus its position, id and whether the user said it, so a client reads it through the
store API (``/store/items/search``) or the studio's transcript route as it read it in the thread's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langchain_core.messages import AnyMessage, HumanMessage, messages_from_dict
from langgraph.store.base import BaseStore, GetOp, PutOp

KIND = "transcript"  # the namespace's part that names what it holds
DIGITS = 9  # positions up to a billion messages sort as text


def key(seq: int) -> str:
    """The item key of the message at position ``seq``."""
    return f"{seq:0{DIGITS}d}"


def namespace(prefix: Sequence[str], thread_id: str) -> tuple[str, ...]:
    """Where a thread's transcript lives under ``prefix`` (on the server: the owner's identity)."""
    return (*prefix, KIND, thread_id)


def loaded(item: dict[str, Any]) -> AnyMessage:
    """The message an item holds, as its own type (a human, AI, tool or system message)."""
    message = item["message"]
    return cast("AnyMessage", messages_from_dict([{"type": message["type"], "data": message}])[0])


class StoreTranscript:
    """A ``graphs.storage.transcript.Transcript`` on a LangGraph store, items put once under a prefix."""

    def __init__(self, store: BaseStore, prefix: Sequence[str] = ()) -> None:
        self.store = store
        self.prefix = tuple(prefix)

    def append(self, thread_id: str, start: int, messages: Sequence[AnyMessage]) -> None:
        """Put the messages at positions ``start``, ``start + 1``, ...; a position already there is kept."""
        where = namespace(self.prefix, thread_id)
        keys = [key(seq) for seq in range(start, start + len(messages))]
        there = self.store.batch([GetOp(where, k) for k in keys])
        puts = [
            PutOp(
                where,
                k,
                {"seq": seq, "id": m.id, "human": isinstance(m, HumanMessage), "message": m.model_dump()},
                False,
            )
            for seq, (k, m, found) in enumerate(zip(keys, messages, there, strict=True), start)
            if found is None
        ]
        if puts:
            self.store.batch(puts)

    def read(self, thread_id: str, start: int, end: int) -> list[AnyMessage]:
        """The messages at positions ``start`` to ``end`` (exclusive); LookupError if any is missing."""
        where = namespace(self.prefix, thread_id)
        found = [self.store.get(where, key(seq)) for seq in range(start, end)]
        if any(item is None for item in found):
            raise LookupError(f"the transcript of session {thread_id} lacks messages between {start} and {end}")
        return [loaded(item.value) for item in found if item is not None]

    def find(self, thread_id: str, message_id: str, before: int) -> int | None:
        """The position of the message with ``message_id`` below ``before`` (a filtered search)."""
        found = self.store.search(namespace(self.prefix, thread_id), filter={"id": message_id}, limit=1000)
        seqs = [int(item.value["seq"]) for item in found if int(item.value["seq"]) < before]
        return min(seqs, default=None)

    def turn_end(self, thread_id: str, start: int, before: int) -> int:
        """The position of the first user message after ``start`` below ``before``, else ``before``."""
        found = self.store.search(namespace(self.prefix, thread_id), filter={"human": True}, limit=1_000_000)
        seqs = [int(item.value["seq"]) for item in found if start < int(item.value["seq"]) < before]
        return min(seqs, default=before)

    def delete(self, thread_id: str) -> None:
        """Delete the thread's items."""
        where = namespace(self.prefix, thread_id)
        while found := self.store.search(where, limit=1000):
            self.store.batch([PutOp(where, item.key, None) for item in found])
