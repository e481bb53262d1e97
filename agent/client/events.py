"""The events of a streamed turn as typed objects (the SSE stream of docs/service.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass

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
    (a newer service may add kinds; an older client skips them).
    """
    fields = json.loads(data)
    if kind == "error":
        raise error_from_event(fields)
    if kind == "reply":
        return Done(ReplyOut.model_validate(fields))
    if kind == "revision":
        return NewRevision(RevisionOut.model_validate(fields))
    if kind == "step":
        return Step(str(fields["node"]))
    if kind == "progress":
        return Progress(str(fields["tool"]), int(fields["step"]), int(fields["total"]))
    if kind == "token":
        return Token(str(fields["text"]))
    return None
