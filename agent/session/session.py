"""The Session API: send messages, undo and redo, each turn run through the graph under the session's lock."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.types import Command, StreamMode

from agent.session.idempotency import checked_key, earlier_reply, user_message
from agent.session.lock import SessionBusyElsewhere
from agent.session.refusals import ConfirmationPending, MessageRejected, SessionBusy, check_message
from agent.session.reply import Reply, run_events, state_reply
from agent.session.saved import SavedSession
from graphs.outcomes import pending_proposal
from graphs.specs import validate_control_call
from graphs.state import Proposal
from graphs.storage.checkpoint import keep_latest
from graphs.turn import has_work

logger = logging.getLogger(__name__)


class Session(SavedSession):
    """One conversation about one image (one LangGraph thread); reading it is ``SavedSession``'s part."""

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


def emit(on_event: Callable[[dict[str, Any]], None] | None, events: list[dict[str, Any]]) -> None:
    """Pass events on to the caller's callback, if any."""
    if on_event is not None:
        for event in events:
            on_event(event)
