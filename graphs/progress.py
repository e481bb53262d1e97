"""The progress callback an edit hands its tool: cancel check, progress events, step pictures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.types import StreamWriter
from PIL import Image

from graphs.deps import GraphDeps
from graphs.storage.store import put_image
from tools.errors import EditCancelled


@dataclass
class StepReporter:
    """Streams ``progress`` events; a step picture a tool takes goes to the store and rides on the next one.

    The pictures are image store keys in the event, never pixels; they are not revisions. ``every``
    (from ``GraphDeps.previews``) is how often a tool that can (see ``tools.base.step_frames``) takes one.
    """

    deps: GraphDeps
    tool: str
    write: StreamWriter
    every: int
    picture: str | None = None  # the store key of the picture taken for the coming step, if any

    def __call__(self, step: int, total: int) -> None:
        """Stop here if the session was cancelled; otherwise report the step."""
        if self.deps.cancel is not None and self.deps.cancel.is_set():
            raise EditCancelled(f"{self.tool} was cancelled at step {step} of {total}")
        event: dict[str, Any] = {"kind": "progress", "tool": self.tool, "step": step, "total": total}
        if self.picture is not None:
            event["image"], self.picture = self.picture, None
        self.write(event)

    def frame(self, step: int, image: Image.Image) -> None:
        """Store the picture of ``step``; the progress event for that step carries its key."""
        self.picture = put_image(self.deps.store, image)
