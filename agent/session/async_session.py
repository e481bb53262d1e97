"""The Session API for asyncio callers: every call that reads or runs the graph goes to a worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from agent.session.reply import Reply
from agent.session.session import Session
from graphs.recipes import Replayed
from graphs.state import EditState, Proposal, Revision

EventHandler = Callable[[dict[str, Any]], None] | None


class AsyncSession:
    """Wraps a Session; each method awaits the Session method of the same name (see its docstring).

    ``on_event`` handlers are called from the worker thread; use ``loop.call_soon_threadsafe`` in them
    to touch the event loop.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.id = session.id

    async def send(self, text: str, on_event: EventHandler = None) -> Reply:
        """Handle one user message (a yes or no answers a pending confirmation)."""
        return await asyncio.to_thread(self.session.send, text, on_event)

    async def undo(self, steps: int = 1, on_event: EventHandler = None) -> Reply:
        """Undo ``steps`` edits without asking the dialogue model."""
        return await asyncio.to_thread(self.session.undo, steps, on_event)

    async def redo(self, steps: int = 1, on_event: EventHandler = None) -> Reply:
        """Redo ``steps`` undone edits without asking the dialogue model."""
        return await asyncio.to_thread(self.session.redo, steps, on_event)

    def cancel(self) -> bool:
        """Ask the running edit to stop; False if none is running (sets a flag, so no thread is needed)."""
        return self.session.cancel()

    async def confirmation(self) -> Proposal | None:
        """The proposal awaiting the user's yes or no, if any."""
        return await asyncio.to_thread(self.session.confirmation)

    async def preview(self) -> Image.Image | None:
        """The preview shown with the pending proposal, if it has one."""
        return await asyncio.to_thread(self.session.preview)

    async def exists(self) -> bool:
        """Whether the session has been saved."""
        return await asyncio.to_thread(self.session.exists)

    async def state(self) -> EditState:
        """The saved state (messages, revisions, head, redo stack, pending)."""
        return await asyncio.to_thread(self.session.state)

    async def last_reply(self) -> Reply:
        """The reply of the latest turn."""
        return await asyncio.to_thread(self.session.last_reply)

    async def revisions(self) -> list[Revision]:
        """Every revision ever made in this session, in creation order."""
        return await asyncio.to_thread(lambda: self.session.revisions)

    async def head(self) -> Revision:
        """The current revision."""
        return await asyncio.to_thread(lambda: self.session.head)

    async def path(self) -> list[Revision]:
        """The revisions from the upload to the current one."""
        return await asyncio.to_thread(self.session.path)

    async def revision(self, revision_id: str | None = None) -> Revision:
        """A revision by id (default: the current one)."""
        return await asyncio.to_thread(self.session.revision, revision_id)

    async def image(self, revision_id: str | None = None) -> Image.Image:
        """The image of a revision (default: the current one)."""
        return await asyncio.to_thread(self.session.image, revision_id)

    async def export(self, path: str | Path, revision_id: str | None = None) -> Path:
        """Write a revision's image to ``path``."""
        return await asyncio.to_thread(self.session.export, path, revision_id)

    async def replay(self, revision_id: str | None = None) -> Replayed:
        """Rebuild a revision (default: the current one) from the original through its recipe chain."""
        return await asyncio.to_thread(self.session.replay, revision_id)

    async def history(self) -> list[tuple[str, str]]:
        """The conversation as (role, text) pairs."""
        return await asyncio.to_thread(self.session.history)
