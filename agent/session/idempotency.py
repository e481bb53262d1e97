"""Idempotent turns: a client's request key, kept in the user message's id, makes a retry return the first result.

The key travels inside the checkpointed conversation (``HumanMessage.id``), so it is durable exactly
when the turn is, costs nothing beyond one id per message, and is bounded by the session's own
history. A retry with a known key runs nothing: it gets the reply (and revision) of the turn that
key started. A key reused for different words is refused rather than silently answered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AnyMessage, HumanMessage

from agent.session.reply import Reply, state_reply, turn_reply
from graphs.outcomes import outcomes
from graphs.state import Proposal, head_revision
from tools.errors import DialogPaintError

MAX_KEY_CHARS = 128
KEY_PATTERN = re.compile(r"[A-Za-z0-9._:\-]+")
_ID_PREFIX = "request:"


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


def earlier_reply(state: Any, pending: Proposal | None, key: str, text: str) -> Reply | None:
    """The reply of the turn that ``key`` started, or None if no saved turn has that key."""
    messages: Sequence[AnyMessage] = state.get("messages", [])
    start = next((i for i, m in enumerate(messages) if m.id == _ID_PREFIX + key), None)
    if start is None:
        return None
    if str(messages[start].content) != text:
        raise RequestKeyRejected(f"the idempotency key {key!r} was already used for a different message")
    end = next((i for i in range(start + 1, len(messages)) if isinstance(messages[i], HumanMessage)), len(messages))
    if end == len(messages):
        return state_reply(state, pending)  # the latest turn: the saved state is its result
    revisions = tuple(state["revisions"])
    made = [o["revision"] for o in outcomes(messages[start:end]) if "revision" in o]
    head = head_revision(revisions, made[-1] if made else state["head"])
    return turn_reply(messages[:end], head, revisions)
