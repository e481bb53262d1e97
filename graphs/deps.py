"""Run dependencies of the graph, passed as LangGraph run context: nothing global, nothing at import."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from langchain_core.language_models import BaseChatModel

from graphs.store import ImageStore
from tools.base import EditTool

ConfirmPolicy = Literal["never", "always", "auto"]


@dataclass(frozen=True)
class Limits:
    """Caps that keep any one turn bounded, whatever the model does."""

    model_calls_per_turn: int = 3  # one decision plus at most two repair rounds
    edits_per_message: int = 4
    context_tokens: int = 6000  # conversation budget sent to the model (approximate tokens)
    recursion_limit: int = 40  # LangGraph super-steps per invocation


@dataclass(frozen=True)
class GraphDeps:
    """Everything a node needs beyond the state: the chat model, tools, image store and policy."""

    model: BaseChatModel
    tools: Mapping[str, EditTool]
    store: ImageStore
    system_prompt: str
    confirm: ConfirmPolicy = "auto"
    limits: Limits = Limits()
    seed: int | None = None  # None: derive each edit's seed from its input and recipe
    # One GPU edit at a time per process: diffusion pipelines are not re-entrant.
    gpu_slot: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(1))
    # Set by Session.cancel(): the running tool stops at its next progress step (EditCancelled).
    cancel: threading.Event | None = None
