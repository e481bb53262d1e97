"""Idempotent turns: a client's request key, kept in the user message's id, makes a retry return the first result.

The key travels inside the checkpointed conversation (``HumanMessage.id``), so it is durable exactly
when the turn is and costs nothing beyond one id per message; once its turn leaves the state's window
the transcript finds it by an index on message ids. A retry with a known key runs nothing: it gets
the reply (and revision) of the turn that key started. A key reused for different words is refused
rather than silently answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AnyMessage, HumanMessage

from agent.session.reply import Reply, state_reply, turn_reply
from graphs.outcomes import outcomes
from graphs.state import Proposal, head_revision
from tools.errors import DialogPaintError

MAX_KEY_CHARS = 128
KEY_PATTERN = re.compile(r"[A-Za-z0-9._:\-]+")
_ID_PREFIX = "request:"
# A user message's id -> the messages of the archived turn it started (it first), or None if none has it.
ArchivedTurn = Callable[[str], Sequence[AnyMessage] | None]


class RequestKeyRejected(DialogPaintError, ValueError):
    """An idempotency key that is malformed, or reused for a different message."""


def checked_key(key: str) -> str:
    """The key if it is 1 to MAX_KEY_CHARS of ``A-Z a-z 0-9 . _ : -``; RequestKeyRejected otherwise."""
    if not 0 < len(key) <= MAX_KEY_CHARS or not KEY_PATTERN.fullmatch(key):
        raise RequestKeyRejected(
            f"the idempotency key must be 1 to {MAX_KEY_CHARS} characters of A-Z a-z 0-9 . _ : - "
            f"(got {len(key)} characters)"
        )
    return key


def user_message(text: str, key: str | None) -> HumanMessage:
    """The user's message, carrying the request key (if any) as its id."""
    return HumanMessage(text) if key is None else HumanMessage(text, id=_ID_PREFIX + key)


def earlier_reply(
    state: Any, pending: Proposal | None, key: str, text: str, archived: ArchivedTurn | None = None
) -> Reply | None:
    """The reply of the turn that ``key`` started, or None if no saved turn has that key.

    The state's window is searched first; ``archived`` finds a turn that has left it (an index lookup
    in the transcript), so the cost never grows with the conversation.
    """
    messages: Sequence[AnyMessage] = state.get("messages", [])
    start = next((i for i, m in enumerate(messages) if m.id == _ID_PREFIX + key), None)
    if start is None:
        turn = archived(_ID_PREFIX + key) if archived is not None else None
        return None if turn is None else keyed_reply(state, turn, key, text)
    end = next((i for i in range(start + 1, len(messages)) if isinstance(messages[i], HumanMessage)), len(messages))
    if end == len(messages):
        checked(messages[start], key, text)
        return state_reply(state, pending)  # the latest turn: the saved state is its result
    return keyed_reply(state, messages[start:end], key, text)


def checked(said: AnyMessage, key: str, text: str) -> None:
    """RequestKeyRejected unless the keyed message said ``text``."""
    if str(said.content) != text:
        raise RequestKeyRejected(f"the idempotency key {key!r} was already used for a different message")


def keyed_reply(state: Any, turn: Sequence[AnyMessage], key: str, text: str) -> Reply:
    """The reply of an earlier ``turn`` (its user message first) of the session in ``state``."""
    checked(turn[0], key, text)
    revisions = tuple(state["revisions"])
    made = [o["revision"] for o in outcomes(turn) if "revision" in o]
    head = head_revision(revisions, made[-1] if made else state["head"])
    return turn_reply(turn, head, revisions)
