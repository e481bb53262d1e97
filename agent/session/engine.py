"""The Session API: open or resume a conversation about an image, send messages, read revisions."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StreamMode
from PIL import Image

from agent.session.c2pa import C2paSigner
from agent.session.idempotency import checked_key, earlier_reply, user_message
from agent.session.lock import SessionBusyElsewhere, SharedLock
from agent.session.message_text import forbidden_character, normalise_line_breaks
from agent.session.reply import Reply, run_events, state_reply
from graphs.deps import MAX_MESSAGE_CHARS, GraphDeps
from graphs.outcomes import outcome, pending_proposal
from graphs.recipes import Replayed
from graphs.revisions import by_id, lineage, new_revision
from graphs.specs import validate_control_call
from graphs.state import EditState, Proposal, Revision, head_revision
from graphs.storage.checkpoint import keep_latest
from graphs.storage.store import get_image, put_image
from graphs.storage.transcript import transcript_for
from graphs.turn import has_work
from tools.errors import DialogPaintError, ImageNotFound
from tools.images import (
    DEFAULT_MAX_ASPECT_RATIO,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_SIDE,
    check_size,
    decode_image,
    read_image_file,
)

logger = logging.getLogger(__name__)


class MessageRejected(DialogPaintError, ValueError):
    """A user message that cannot be sent (empty or too long); nothing is changed."""


class SessionNotFound(DialogPaintError, LookupError):
    """No session with that id in this data directory."""


class SessionBusy(DialogPaintError, RuntimeError):
    """A message is already being handled in this session."""


class ConfirmationPending(DialogPaintError, RuntimeError):
    """An undo or redo was asked while an edit awaits the user's yes or no."""


def check_message(text: str, limit: int) -> str:
    """The message as stored and shown; MessageRejected if empty, over ``limit`` or against the message_text rule."""
    text = normalise_line_breaks(text).strip()
    if not text:
        raise MessageRejected("the message is empty")
    if len(text) > limit:
        raise MessageRejected(f"the message is {len(text)} characters; the limit is {limit}")
    if problem := forbidden_character(text):
        raise MessageRejected(problem)
    return text


@dataclass(frozen=True)
class InputLimits:
    """Input limits enforced before any work is done."""

    max_message_chars: int = MAX_MESSAGE_CHARS
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_upload_bytes: int = DEFAULT_MAX_BYTES
    min_image_side: int = DEFAULT_MIN_SIDE
    max_aspect_ratio: float = DEFAULT_MAX_ASPECT_RATIO

    def image(self, source: Image.Image | bytes | str | Path) -> Image.Image:
        """An upload decoded safely and checked against these limits; ImageRejected names the one it breaks."""
        pixels, size, side, aspect = self.max_pixels, self.max_upload_bytes, self.min_image_side, self.max_aspect_ratio
        if isinstance(source, bytes):
            return decode_image(source, max_pixels=pixels, max_bytes=size, min_side=side, max_aspect_ratio=aspect)
        if isinstance(source, str | Path):
            return read_image_file(source, max_pixels=pixels, max_bytes=size, min_side=side, max_aspect_ratio=aspect)
        check_size(source.size, max_pixels=pixels, min_side=side, max_aspect_ratio=aspect)
        return source


@dataclass
class SessionSlot:
    """What this process holds for one session: its run lock, its cancel flag, and the confirmation
    its last run here left pending, so a turn need not read the checkpoint to learn whether it
    answers a proposal (``pending_known`` False: read it).
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    cancel: threading.Event = field(default_factory=threading.Event)
    pending: Proposal | None = None
    pending_known: bool = False

    def remember(self, pending: Proposal | None) -> None:
        """Record what the session's saved state has pending now."""
        self.pending, self.pending_known = pending, True


@dataclass
class Engine:
    """A compiled graph with its run context and checkpointer: opens and resumes sessions."""

    graph: CompiledStateGraph[EditState, GraphDeps, EditState, EditState]
    deps: GraphDeps
    limits: InputLimits = InputLimits()
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


class Session:
    """One conversation about one image (one LangGraph thread)."""

    def __init__(self, engine: Engine, session_id: str) -> None:
        self.engine = engine
        self.id = session_id
        self.config: Any = {
            "configurable": {"thread_id": session_id},
            "recursion_limit": engine.deps.limits.recursion_limit,
        }

    def exists(self) -> bool:
        """Whether the session has been saved."""
        return bool(self.engine.graph.get_state(self.config).values.get("revisions"))

    def send(
        self, text: str, on_event: Callable[[dict[str, Any]], None] | None = None, request_key: str | None = None
    ) -> Reply:
        """Handle one user message; answers a pending confirmation transparently.

        Args:
            request_key: the client's idempotency key: a retry with a key already saved runs nothing
                and returns that turn's reply (``agent.session.idempotency``).
            on_event: called, in order, with each event of the run (for progress bars and streaming):
                ``{"kind": "step", "node"}`` when a graph node has finished;
                ``{"kind": "revision", "revision"}`` for each revision an edit made, once its step's
                checkpoint is written (a revision announced is never lost to a crash);
                ``{"kind": "progress", "tool", "step", "total"}`` from a running tool, with ``"image"`` (a
                store key) on the steps a step picture was taken for (``GraphDeps.previews.every``);
                ``{"kind": "preview", "preview"}`` when a proposal comes with a preview (``Preview``);
                ``{"kind": "token", "text"}`` for each piece of reply text the dialogue model streams.
        """
        text = check_message(text, self.engine.limits.max_message_chars)
        key = None if request_key is None else checked_key(request_key)
        with self.running():
            self.finish_interrupted(on_event)  # first, so a retry after a crash finds the finished turn
            if key is not None and (earlier := self.replayed(key, text)) is not None:
                return earlier
            said = user_message(text, key)
            graph_input: Any = Command(resume=said) if self.confirmation() else {"messages": [said]}
            return self.run(graph_input, on_event)

    def replayed(self, key: str, text: str) -> Reply | None:
        """The reply of the saved turn that ``key`` started, or None (see ``agent.session.idempotency``)."""
        snapshot = self.engine.graph.get_state(self.config)
        archived, transcript = snapshot.values.get("archived", 0), self.engine.deps.transcript

        def archived_turn(message_id: str) -> list[AnyMessage] | None:
            start = transcript.find(self.id, message_id, archived) if transcript and archived else None
            if start is None or transcript is None:
                return None
            return transcript.read(self.id, start, transcript.turn_end(self.id, start, archived))

        return earlier_reply(snapshot.values, pending_proposal(snapshot.interrupts), key, text, archived_turn)

    def undo(self, steps: int = 1, on_event: Callable[[dict[str, Any]], None] | None = None) -> Reply:
        """Undo ``steps`` edits without asking the dialogue model (a button, not a sentence)."""
        return self.control("undo", steps, on_event)

    def redo(self, steps: int = 1, on_event: Callable[[dict[str, Any]], None] | None = None) -> Reply:
        """Redo ``steps`` undone edits without asking the dialogue model."""
        return self.control("redo", steps, on_event)

    def control(
        self, name: Literal["undo", "redo"], steps: int, on_event: Callable[[dict[str, Any]], None] | None = None
    ) -> Reply:
        """Run an undo or redo call through the graph as if the model had made it.

        The user's words and the call are written into the conversation and the graph goes straight
        to the node, so the history reads the same as a typed "undo" and the model sees it next turn.
        """
        try:
            args = validate_control_call(name, {"steps": steps}).model_dump()
        except ValueError as exc:
            raise MessageRejected(str(exc)) from None
        with self.running():
            self.finish_interrupted(on_event)
            if self.confirmation():
                raise ConfirmationPending(f"session {self.id} is waiting for a yes or no to: {self.last_reply().text}")
            said = name if steps == 1 else f"{name} {steps} steps"
            call = {"name": name, "args": args, "id": "call_" + secrets.token_hex(8), "type": "tool_call"}
            update = {"messages": [HumanMessage(said), AIMessage("", tool_calls=[call])]}
            return self.run(Command(update=update, goto=name), on_event)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Hold the session's run lock (and the shared one, if any); SessionBusy if another run holds it."""
        slot = self.engine.slot(self.id)
        if not slot.lock.acquire(blocking=False):
            raise SessionBusy(f"session {self.id} is still handling the previous message")
        shared = self.engine.shared_lock
        try:
            if shared is not None:
                try:
                    unchanged = shared.acquire(self.id)
                except SessionBusyElsewhere as exc:
                    raise SessionBusy(str(exc)) from None
                if not unchanged:
                    slot.pending_known = False  # another process may have run a turn since: read the checkpoint
            try:
                slot.cancel.clear()
                yield
            finally:
                if shared is not None:
                    shared.release(self.id)
        finally:
            slot.lock.release()

    def finish_interrupted(self, on_event: Callable[[dict[str, Any]], None] | None) -> None:
        """Finish, exactly once, a run that a crash cut short, before the next input is handled.

        A process killed mid-turn leaves a checkpoint with steps still to run (``next``, e.g. the
        edit) and no interrupt. Starting the next turn on it would drop those steps, the tool call's
        ToolMessage and any revision already shown from their saved writes. So the run is completed
        first: steps whose writes were saved are not run again (LangGraph reapplies the writes), the
        others run once; their revisions are announced as usual and the history shows the answer.
        Only checked when this process has not yet seen the session end a run cleanly; a settled state
        read here is remembered, so the turn does not read the checkpoint again for its confirmation.
        """
        slot = self.engine.slot(self.id)
        if slot.pending_known:
            return
        snapshot = self.engine.graph.get_state(self.config)
        # A task whose writes were saved but whose step never reached its checkpoint (a kill between the
        # two) is not in ``next``: its writes are applied only by finishing the run. An undo's Command
        # started on top of them wrote 'head' twice in one step (InvalidUpdateError).
        unapplied = any(task.result is not None and not task.interrupts for task in snapshot.tasks)
        if (not snapshot.next and not unapplied) or snapshot.interrupts:
            if snapshot.values.get("revisions"):
                slot.remember(pending_proposal(snapshot.interrupts))
            return
        if not has_work(snapshot.values.get("messages", []), snapshot.next):
            # A run with nothing to do: its input never reached the checkpoint (a locked or full store
            # refused the write; the caller got a 503), or a session an earlier version opened waiting at
            # decide and then bricked with an undo first. Running it would answer an earlier message or
            # fail on none, for ever; so the session is settled as its last turn left it.
            logger.warning("session %s: settling a run stopped at %s with nothing to do", self.id, snapshot.next)
            self.engine.graph.update_state(self.config, None, as_node="reply")
            slot.remember(None)
            return
        stopped = ", ".join(snapshot.next or [task.name for task in snapshot.tasks])
        logger.warning("session %s: finishing the run a crash cut short at %s", self.id, stopped)
        self.run(None, on_event)

    def run(self, graph_input: Any, on_event: Callable[[dict[str, Any]], None] | None) -> Reply:
        """Run the graph on one input, saving each step; stream events to ``on_event`` if given.

        The turn's final state and any confirmation it left pending come from the run's own stream,
        so building the reply costs no second read of the checkpoint. Once the turn is saved, older
        checkpoints are dropped: undo and redo live in the revision tree, not in checkpoint history.
        """
        slot = self.engine.slot(self.id)
        context = replace(self.engine.turn_deps(), cancel=slot.cancel)
        run = {"config": self.config, "context": context, "durability": "sync"}
        modes: list[StreamMode] = ["values", "updates", "custom", "messages"] if on_event else ["values", "updates"]
        values: dict[str, Any] = {}
        pending: Proposal | None = None
        slot.pending_known = False  # unknown until the run has ended
        unsaved: list[dict[str, Any]] = []  # revision events of the step whose checkpoint is not yet written
        for mode, chunk in self.engine.graph.stream(graph_input, stream_mode=modes, **run):
            if mode == "values":
                # With durability "sync" a step's values are streamed only after its checkpoint is
                # written, so the revisions it made are durable now and may be announced.
                values = chunk
                emit(on_event, unsaved)
                unsaved = []
                continue
            if mode == "updates" and "__interrupt__" in chunk:
                pending = pending_proposal(chunk["__interrupt__"]) or pending
            if on_event is not None:
                events = run_events(mode, chunk)
                unsaved += [e for e in events if e["kind"] == "revision"]
                emit(on_event, [e for e in events if e["kind"] != "revision"])
        keep_latest(self.engine.graph.checkpointer, self.id)
        slot.remember(pending)
        return state_reply(values, pending)

    def cancel(self) -> bool:
        """Ask the edit running in this session (from another thread) to stop; False if none is running.

        The tool stops at its next progress step; the edit then fails without a revision.
        """
        slot = self.engine.slot(self.id)
        slot.cancel.set()
        return slot.lock.locked()

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


def emit(on_event: Callable[[dict[str, Any]], None] | None, events: list[dict[str, Any]]) -> None:
    """Pass events on to the caller's callback, if any."""
    if on_event is not None:
        for event in events:
            on_event(event)
