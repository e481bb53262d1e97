"""An editing tool for the Ray Serve tests: a slow mirror that leaves a marker per call start and end."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.fakes import RecordingTool
from tools.serving import ToolApp


class MarkedMirror(RecordingTool):
    """Mirrors after ``delay_s``; writes ``<seed>.<pid>.start`` and ``<seed>.<pid>.done`` into ``marks``."""

    def __init__(self, marks: Path, delay_s: float) -> None:
        super().__init__()
        self.marks, self.delay_s = marks, delay_s

    def __call__(self, image: Any, params: Any, *, seed: int, **kwargs: Any) -> Any:
        (self.marks / f"{seed}.{os.getpid()}.start").touch()
        time.sleep(self.delay_s)
        result = super().__call__(image, params, seed=seed, **kwargs)
        (self.marks / f"{seed}.{os.getpid()}.done").touch()
        return result


def marked_app(marks: str, delay_s: float) -> ToolApp:
    """The ToolApp a replica builds: the marked mirror (a builder for agent.integrations.ray_serve.tool_application)."""
    return ToolApp(MarkedMirror(Path(marks), delay_s))
