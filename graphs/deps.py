"""Run dependencies of the graph, passed as LangGraph run context: nothing global, nothing at import."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from langchain_core.language_models import BaseChatModel

from graphs.selfcheck import SelfCheck
from graphs.storage.store import ImageStore
from graphs.storage.transcript import Transcript
from tools.base import EditTool
from tools.detect import Detector

ConfirmPolicy = Literal["never", "always", "auto"]
# auto: tools with tool_choice="auto", plain text is chat; required: every answer is a tool call (a
# `reply` tool carries chat); json: a JSON-schema response_format, for servers without a tool parser.
ToolMode = Literal["auto", "required", "json"]
MAX_MESSAGE_CHARS = 2000  # the longest user message a session accepts unless configured


@dataclass(frozen=True)
class TurnLimits:
    """Caps that keep any one turn bounded, whatever the model does."""

    model_calls_per_turn: int = 3  # one decision plus at most two repair rounds
    edits_per_message: int = 4
    context_tokens: int = 6000  # conversation budget sent to the model (approximate tokens)
    recursion_limit: int = 40  # LangGraph super-steps per invocation
    questions_in_a_row: int = 2  # clarifying questions before the model must act or answer
    window_turns: int = 16  # turns the state keeps (graphs.window); older ones are in the transcript


def never_transient(exc: BaseException) -> bool:
    """The default: no model failure is worth a retry."""
    return False


def no_retry_after(exc: BaseException) -> float | None:
    """The default: no failure says how long to wait."""
    return None


def generic_explanation(exc: BaseException) -> str:
    """The default user-facing text for a failed model call."""
    return f"Sorry, the dialogue model failed ({type(exc).__name__}). Nothing was changed; please try again."


@dataclass(frozen=True)
class ModelCalls:
    """How ``decide`` calls the dialogue model: the tool mode, the one retry layer, the turn's time.

    The agent fills the callables for its client (which errors are transient, what the user is told,
    the per-request timeout for the seconds left); the graph itself never imports a client library.
    """

    tool_mode: ToolMode = "auto"
    retries: int = 0  # retries of transient faults (connection, timeout, 429, 5xx); never of other 4xx
    turn_seconds: float | None = None  # all model calls of one turn end within this; None: no limit
    transient: Callable[[BaseException], bool] = never_transient
    explain: Callable[[BaseException], str] = generic_explanation
    retry_after: Callable[[BaseException], float | None] = no_retry_after  # the server's Retry-After, seconds
    request_timeout: Callable[[float], Any] | None = None  # seconds left -> the client's timeout kwarg


class Observer(Protocol):
    """What a turn reports for metrics: each edit a tool ran and each failed dialogue-model call.

    The graph only reports; the service counts (agent.service.metrics). The default observes nothing.
    """

    def tool_ran(self, tool: str, seconds: float, outcome: str) -> None:
        """An edit ended: ``outcome`` is ok, invalid, cancelled, image_lost, failed or crashed."""

    def model_fault(self, kind: str, *, retried: bool) -> None:
        """A model call failed with an error of class ``kind``; ``retried``: another attempt follows."""


class NoObserver:
    """The observer that counts nothing."""

    def tool_ran(self, tool: str, seconds: float, outcome: str) -> None:
        """Nothing."""

    def model_fault(self, kind: str, *, retried: bool) -> None:
        """Nothing."""


@dataclass(frozen=True)
class Previews:
    """Cheap looks at costly edits: one with each confirmation, and pictures of the steps as one runs."""

    confirm: bool = True  # render a tool's preview() when proposing its edit
    every: int = 5  # a step picture every this many denoising steps (tools that take them); 0: none


@dataclass(frozen=True)
class GraphDeps:
    """Everything a node needs beyond the state: the chat model, tools, image store and policy."""

    model: BaseChatModel
    tools: Mapping[str, EditTool]
    store: ImageStore
    system_prompt: str
    confirm: ConfirmPolicy = "auto"
    limits: TurnLimits = TurnLimits()
    seed: int | None = None  # None: derive each edit's seed from its input and recipe
    calls: ModelCalls = ModelCalls()
    deadline: float | None = None  # time.monotonic() by which this run's model calls must end
    # One GPU edit at a time per process: diffusion pipelines are not re-entrant.
    gpu_slot: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(1))
    # Set by Session.cancel(): the running tool stops at its next progress step (EditCancelled).
    cancel: threading.Event | None = None
    previews: Previews = Previews()
    self_check: SelfCheck | None = None  # score generative edits and retry weak ones (agent wires CLIP in)
    # Finds the objects an edit names in the image, so an object seen twice is asked about (graphs.nodes.disambiguate).
    detector: Detector | None = None
    observer: Observer = field(default_factory=NoObserver)  # counts tool runs and model-call faults (metrics)
    # Where turns older than the state's window go (graphs.window); None: the state keeps them all.
    transcript: Transcript | None = None
    # False: a tool that cannot run now (tools.base.readiness) is never offered to the model. True offers
    # every registered tool (its edits then fail), to score decisions on a machine without the editors.
    offer_unready: bool = False
