"""The events of a streamed turn as typed objects (the SSE stream of docs/service.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from agent.client.answers import BadAnswer, SseReader, json_object, parsed
from agent.client.errors import error_from_event
from agent.service.schemas import ReplyOut, RevisionOut


@dataclass(frozen=True)
class Step:
    """A graph node has finished (``decide``, ``clarify``, ``confirm``, ``edit``, ``undo``, ``redo``, ``reply``)."""

    node: str


@dataclass(frozen=True)
class Progress:
    """A running tool's progress (e.g. diffusion steps)."""

    tool: str
    step: int
    total: int


@dataclass(frozen=True)
class Token:
    """A piece of reply text as the dialogue model streams it."""

    text: str


@dataclass(frozen=True)
class NewRevision:
    """A revision the turn made, announced once it is durable."""

    revision: RevisionOut


@dataclass(frozen=True)
class Done:
    """The last event: what the turn did."""

    reply: ReplyOut


Event = Step | Progress | Token | NewRevision | Done


def parse_event(kind: str, data: str) -> Event | None:
    """The typed event for one SSE message; an ``error`` event is raised; unknown kinds give None
    (a newer service may add kinds; an older client skips them). An event that is not what the API
    documents raises BadAnswer.
    """
    if kind == "reply":
        return Done(parsed(data, ReplyOut, "the turn's reply event"))
    if kind == "revision":
        return NewRevision(parsed(data, RevisionOut, "a revision event"))
    if kind not in ("error", "step", "progress", "token"):
        return None
    fields = json_object(data.encode(), f"a {kind} event")
    try:
        if kind == "error":
            raise error_from_event(fields)
        if kind == "step":
            return Step(str(fields["node"]))
        if kind == "progress":
            return Progress(str(fields["tool"]), int(fields["step"]), int(fields["total"]))
        return Token(str(fields["text"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadAnswer(f"a {kind} event is not what the API documents: {exc!r:.160}") from None


def chunk_events(reader: SseReader, chunk: bytes) -> Iterator[Event]:
    """The typed events one chunk of a turn's stream completes (unknown kinds skipped)."""
    for kind, data in reader.feed(chunk):
        if (event := parse_event(kind, data)) is not None:
            yield event
