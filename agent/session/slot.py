"""What this process holds for one session: its run lock, cancel flag and known pending confirmation."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from graphs.state import Proposal


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
