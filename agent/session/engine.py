"""The Engine: a compiled graph with its run context and checkpointer, which opens, resumes and deletes sessions."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from PIL import Image

from agent.session.c2pa import C2paSigner
from agent.session.lock import SharedLock
from agent.session.refusals import InputLimits, SessionNotFound
from agent.session.session import Session
from agent.session.slot import SessionSlot
from graphs.deps import GraphDeps
from graphs.revisions import new_revision
from graphs.state import EditState
from graphs.storage.store import put_image
from graphs.storage.transcript import transcript_for
from tools.errors import DialogPaintError

logger = logging.getLogger(__name__)


@dataclass
class Engine:
    """A compiled graph with its run context and checkpointer: opens and resumes sessions."""

    graph: CompiledStateGraph[EditState, GraphDeps, EditState, EditState]
    deps: GraphDeps
    limits: InputLimits = field(default_factory=InputLimits)
    closers: list[Any] = field(default_factory=list)
    signer: C2paSigner | None = None  # signs exported and served PNGs with a C2PA manifest (agent.session.c2pa)
    shared_lock: SharedLock | None = None  # "one run per session" across processes (agent.session.lock)
    _slots: dict[str, SessionSlot] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The transcript table next to the checkpoints holds the turns the state's window let go.
        if self.deps.transcript is None:
            self.deps = replace(self.deps, transcript=transcript_for(self.graph.checkpointer))

    def open(self, image: Image.Image | bytes | str | Path, session_id: str | None = None) -> Session:
        """Start a session on an image (decoded safely), stored as the root revision."""
        image = self.limits.image(image)
        session_id = session_id or secrets.token_urlsafe(16)
        session = Session(self, session_id)
        if session.exists():
            raise DialogPaintError(f"session {session_id} already exists; resume it instead")
        root = new_revision(put_image(self.deps.store, image))
        values = {"revisions": [root], "head": root["id"], "redo_stack": [], "pending": None}
        # As if a turn had just ended (reply leads to END): the session waits for its first input, and
        # an undo or redo first has no unfinished run to trip over.
        self.graph.update_state(session.config, values, as_node="reply")
        self.slot(session_id).remember(None)
        logger.info("opened session %s on image %s", session_id, root["image"][:12])
        return session

    def resume(self, session_id: str) -> Session:
        """Continue a saved session: history, revisions, head and any pending confirmation."""
        session = Session(self, session_id)
        if not session.exists():
            raise SessionNotFound(f"no session {session_id!r} in this data directory")
        return session

    def delete(self, session_id: str) -> None:
        """Forget a session's conversation and revisions; images stay, since other sessions may share them."""
        checkpointer = self.graph.checkpointer
        if not isinstance(checkpointer, BaseCheckpointSaver):
            raise DialogPaintError("this engine has no checkpointer to delete sessions from")
        checkpointer.delete_thread(session_id)
        if self.deps.transcript is not None:
            self.deps.transcript.delete(session_id)
        self._slots.pop(session_id, None)
        logger.info("deleted session %s", session_id)

    def turn_deps(self) -> GraphDeps:
        """The run context of one turn: the deps with this turn's deadline for model calls."""
        seconds = self.deps.calls.turn_seconds
        return self.deps if seconds is None else replace(self.deps, deadline=time.monotonic() + seconds)

    def slot(self, session_id: str) -> SessionSlot:
        """The lock, cancel flag and known pending confirmation this process holds for one session."""
        slot = self._slots.get(session_id)
        return slot if slot is not None else self._slots.setdefault(session_id, SessionSlot())

    def close(self) -> None:
        """Close the checkpointer connection and anything else the engine owns."""
        for closer in self.closers:
            closer()
        self.closers.clear()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
