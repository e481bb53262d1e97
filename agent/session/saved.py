"""Reading a saved session: its state, revisions, images, conversation and pending confirmation.

``SavedSession`` is the read side of ``agent.session.session.Session``, which adds the turns. It knows its
engine through ``SessionEngine``, what a session uses of ``agent.session.engine.Engine``, so these modules
need not import the engine that opens them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph.state import CompiledStateGraph
from PIL import Image

from agent.session.c2pa import C2paSigner
from agent.session.lock import SharedLock
from agent.session.refusals import InputLimits, SessionNotFound
from agent.session.reply import Reply, state_reply
from agent.session.slot import SessionSlot
from graphs.deps import GraphDeps
from graphs.outcomes import outcome, pending_proposal
from graphs.recipes import Replayed
from graphs.revisions import by_id, lineage
from graphs.state import EditState, Proposal, Revision, head_revision
from graphs.storage.store import get_image
from tools.errors import DialogPaintError, ImageNotFound


class SessionEngine(Protocol):
    """What a session uses of its engine (``agent.session.engine.Engine``)."""

    graph: CompiledStateGraph[EditState, GraphDeps, EditState, EditState]
    deps: GraphDeps
    limits: InputLimits
    signer: C2paSigner | None
    shared_lock: SharedLock | None

    def turn_deps(self) -> GraphDeps:
        """The run context of one turn."""
        ...

    def slot(self, session_id: str) -> SessionSlot:
        """What this process holds for the session."""
        ...


class SavedSession:
    """One conversation about one image (one LangGraph thread), as saved: what can be read of it."""

    def __init__(self, engine: SessionEngine, session_id: str) -> None:
        self.engine = engine
        self.id = session_id
        self.config: Any = {
            "configurable": {"thread_id": session_id},
            "recursion_limit": engine.deps.limits.recursion_limit,
        }

    def exists(self) -> bool:
        """Whether the session has been saved."""
        return bool(self.engine.graph.get_state(self.config).values.get("revisions"))

    def confirmation(self) -> Proposal | None:
        """The proposal awaiting the user's yes or no, if any."""
        slot = self.engine.slot(self.id)
        if slot.pending_known:
            return slot.pending
        snapshot = self.engine.graph.get_state(self.config)
        pending = pending_proposal(snapshot.interrupts)
        if snapshot.values.get("revisions"):
            slot.remember(pending)
        return pending

    def preview(self) -> Image.Image | None:
        """The preview shown with the pending proposal, if it has one (not a revision: nothing to undo)."""
        pending = self.confirmation()
        if pending is None or "preview" not in pending:
            return None
        return get_image(self.engine.deps.store, pending["preview"]["image"])

    def state(self) -> EditState:
        """The saved state (messages, revisions, head, redo stack, pending)."""
        values = self.engine.graph.get_state(self.config).values
        if not values.get("revisions"):
            raise SessionNotFound(f"no session {self.id!r}")
        return values  # type: ignore[return-value]

    def last_reply(self) -> Reply:
        """The reply of the latest turn, rebuilt from one snapshot of the saved state."""
        snapshot = self.engine.graph.get_state(self.config)
        return state_reply(snapshot.values, pending_proposal(snapshot.interrupts))

    @property
    def revisions(self) -> list[Revision]:
        """Every revision ever made in this session, in creation order."""
        return list(self.state()["revisions"])

    @property
    def head(self) -> Revision:
        """The current revision."""
        state = self.state()
        return head_revision(state["revisions"], state["head"])

    def path(self) -> list[Revision]:
        """The revisions from the upload to the current one."""
        state = self.state()
        return lineage(state["revisions"], state["head"])

    def image(self, revision_id: str | None = None) -> Image.Image:
        """The image of a revision (default: the current one)."""
        revision = self.revision(revision_id)
        return get_image(self.engine.deps.store, revision["image"])

    def revision(self, revision_id: str | None = None) -> Revision:
        """A revision by id (default: the current one); ImageNotFound if unknown."""
        if revision_id is None:
            return self.head
        if (revision := by_id(self.state()["revisions"]).get(revision_id)) is not None:
            return revision
        raise ImageNotFound(f"no revision {revision_id!r} in session {self.id}")

    def export(self, path: str | Path, revision_id: str | None = None) -> Path:
        """Write a revision's image to ``path`` (format from the suffix; for .png the stored pixels, and
        for an edit its recipe chain in a text chunk: ``agent.session.provenance``).
        """
        path = Path(path)
        revision = self.revision(revision_id)
        if path.suffix.lower() == ".png":
            path.write_bytes(self.png(revision["id"]))
        else:
            get_image(self.engine.deps.store, revision["image"]).save(path)
        return path

    def png(self, revision_id: str | None = None) -> bytes:
        """A revision's PNG as exported and served: an edit carries its recipe chain (``agent.session.provenance``)."""
        from agent.session.provenance import png_for

        state = self.state()
        return png_for(self.engine.deps, state["revisions"], revision_id or str(state["head"]), self.engine.signer)

    def replay(self, revision_id: str | None = None) -> Replayed:
        """Rebuild a revision (default: the current one) from the original through its recipe chain.

        Adds nothing to the session; ``Replayed.matches`` says whether the result is bit for bit the
        recorded image (it is for deterministic tools, and for seeded ones on the same weights and device).
        """
        from agent.session.replay import replay_revision

        state = self.state()
        return replay_revision(self.engine.deps, state["revisions"], revision_id or str(state["head"]))

    def messages(self, state: EditState | None = None) -> list[AnyMessage]:
        """The whole conversation, oldest first: the transcript's turns, then the window the state holds.

        The one way to read the transcript (history views, export, MCP resources, the HTTP route use it).

        Args:
            state: the saved state if the caller has already read it (default: read it now).
        """
        state = self.state() if state is None else state
        archived, transcript = state.get("archived", 0), self.engine.deps.transcript
        if not archived:
            return list(state["messages"])
        if transcript is None:
            raise DialogPaintError(f"session {self.id} keeps {archived} messages in a transcript this engine has not")
        return [*transcript.read(self.id, 0, archived), *state["messages"]]

    def history(self, state: EditState | None = None) -> list[tuple[str, str]]:
        """The conversation as (role, text) pairs, user and assistant text only.

        Args:
            state: the saved state if the caller has already read it (default: read it now).
        """
        pairs: list[tuple[str, str]] = []
        for message in self.messages(state):
            if isinstance(message, HumanMessage):
                pairs.append(("user", str(message.content)))
            elif isinstance(message, AIMessage) and not message.tool_calls and message.content:
                pairs.append(("assistant", str(message.content)))
            elif (
                (found := outcome(message))
                and found["kind"] == "proposed"
                and pairs[-1:] != [("assistant", found["say"])]
            ):
                pairs.append(("assistant", found["say"]))  # an answered confirmation question
        pending = self.confirmation()
        if pending is not None and pairs[-1:] != [("assistant", pending["question"])]:
            pairs.append(("assistant", pending["question"]))  # the question awaiting a yes or no
        return pairs
