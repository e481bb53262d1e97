"""The params every instruction editor beside InstructPix2Pix shares: the prompt, steps, seed, unchanged pixels."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EditorParams(BaseModel):
    """Shared fields; each editor's Params subclass carries the model's description as its docstring."""

    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(
        min_length=2, max_length=600, description="The full edit, sent verbatim: what to change and what to keep."
    )
    steps: int | None = Field(None, ge=1, le=100, description="Denoising steps; absent: the model's default.")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Fixed seed; chosen if absent.")
    keep_unchanged: int = Field(
        0, ge=0, le=64, description="Copy back input pixels that changed less than this (0-255 levels); 0: off."
    )
