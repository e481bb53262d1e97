"""A deterministic stand-in for the generative editor, for simulated-user runs on machines without weights.

``dialogpaint eval`` lets an InstructPix2Pix edit fail when no weights are configured (no revision). A
simulated user cannot reach a generative goal that way, so `dialogpaint simulate` puts this editor in
its place when neither ``--model-path`` nor a remote ``instruct_pix2pix`` is configured. It has the
real tool's name, parameters and capabilities (so the dialogue model, the confirmation policy and the
recipes see the same tool), records the instruction in the revision like the real one, and changes
the pixels deterministically (a tint whose colour is a hash of the instruction and seed), the way the
tests' recording tool mirrors. A generative goal is scored on the instruction executed, never on these
pixels; the report says when this editor ran.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import ClassVar

from PIL import Image
from pydantic import BaseModel

from agent.eval.simulate.cases import GENERATIVE
from tools.base import EditTool, ProgressCallback, ToolCapabilities
from tools.instruct_pix2pix import InstructPix2Pix


class RecordingEditor:
    """Stands in for ``instruct_pix2pix``: records every instruction and tints by its hash."""

    name: ClassVar[str] = InstructPix2Pix.name
    Params: ClassVar[type[BaseModel]] = InstructPix2Pix.Params
    capabilities: ClassVar[ToolCapabilities] = InstructPix2Pix.capabilities

    def __init__(self) -> None:
        self.instructions: list[str] = []

    def check_inputs(self, image: Image.Image, params: BaseModel) -> None:
        """Accept every image the real editor's parameters allow."""

    def __call__(
        self, image: Image.Image, params: BaseModel, *, seed: int, progress: ProgressCallback | None = None
    ) -> Image.Image:
        """The image blended a quarter of the way to a colour chosen by the instruction and seed."""
        instruction = str(getattr(params, "instruction", ""))
        self.instructions.append(instruction)
        digest = hashlib.sha256(f"{seed}:{instruction}".encode()).digest()
        colour = Image.new("RGB", image.size, (digest[0], digest[1], digest[2]))
        if progress:
            progress(1, 1)
        return Image.blend(image.convert("RGB"), colour, 0.25)


def with_stand_in(tools: Mapping[str, EditTool], has_weights: bool) -> tuple[dict[str, EditTool], str]:
    """``tools`` with the stand-in editor in place of an unconfigured generative editor, and what ran."""
    if has_weights or GENERATIVE not in tools:
        return dict(tools), "configured editor"
    return {**tools, GENERATIVE: RecordingEditor()}, "recording stand-in (no weights configured)"
