"""Chat-model factories: the embedded local policy (default) or an OpenAI-compatible server (vLLM).

The server client makes no retries of its own (``max_retries=0``): the one retry layer is the graph's
(``graphs.model_call``), which retries only connection errors, timeouts, 429 and 5xx answers, waits
as long as their Retry-After asks, and never past the turn's deadline. openai-python would also retry
408 and 409, and would not know the deadline.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.settings import Settings
from graphs.deps import ModelCalls
from graphs.model_call import AnswerCutOff, TurnDeadlineExceeded
from tools.errors import DialogPaintError, MissingExtra
from tools.redaction import redacted

NOTHING_CHANGED = "Nothing was changed"


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The dialogue model the settings ask for; heavy clients are imported only when chosen."""
    if settings.llm == "local":
        from agent.policy.local import LocalPolicy

        if settings.act_model is None:
            return LocalPolicy()
        from agent.policy.act_model import load

        try:
            return LocalPolicy(act_model=load(settings.act_model))
        except ValueError as exc:
            raise DialogPaintError(f"DIALOGPAINT_ACT_MODEL: {exc}") from None
    if len(settings.llm_urls) > 1:
        from agent.models.fleet import FleetChatModel

        servers = [settings.model_copy(update={"llm": url}) for url in settings.llm_urls]
        members = [openai_compatible(server) for server in servers]
        return FleetChatModel(members=members, names=[redacted(u) for u in settings.llm_urls], transient=is_transient)
    return openai_compatible(settings)


def base_url(settings: Settings) -> str:
    """The server's OpenAI API root, ending in /v1."""
    return settings.llm if settings.llm.endswith("/v1") else settings.llm + "/v1"


def openai_compatible(settings: Settings) -> BaseChatModel:
    """ChatOpenAI pointed at a vLLM (or other OpenAI-compatible) base URL, with explicit timeouts."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise MissingExtra("an OpenAI-compatible --llm needs langchain-openai", "vllm") from exc
    model: BaseChatModel = ChatOpenAI(
        base_url=base_url(settings),
        model=settings.llm_model,
        api_key=settings.llm_api_key,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=client_timeout(settings.llm_timeout_s, settings.llm_connect_timeout_s),
        max_retries=0,  # see the module docstring: graphs.model_call is the one retry layer
    )
    return model


def client_timeout(seconds: float, connect: float) -> Any:
    """The OpenAI client's own timeout type (``openai.Timeout``), built from plain numbers.

    openai 2.x builds on httpx and 3.x on httpx2; each accepts only its own ``Timeout`` class, so an
    ``httpx.Timeout`` made here broke every request on openai 3 (TypeError: Invalid timeout).
    """
    import openai

    return openai.Timeout(seconds, connect=connect)


def model_calls(settings: Settings) -> ModelCalls:
    """How the graph calls the configured model: tool mode, retries, turn time, fault handling."""
    if settings.llm == "local":
        return ModelCalls()  # in-process: nothing to time out or retry, and tools are native

    def request_timeout(seconds_left: float) -> Any:
        return client_timeout(
            min(settings.llm_timeout_s, seconds_left), min(settings.llm_connect_timeout_s, seconds_left)
        )

    return ModelCalls(
        tool_mode=settings.llm_tool_mode,
        retries=settings.llm_max_retries,
        turn_seconds=settings.llm_turn_timeout_s,
        transient=is_transient,
        explain=lambda exc: explain_fault(exc, settings),
        request_timeout=request_timeout,
        retry_after=retry_after,
    )


def is_transient(exc: BaseException) -> bool:
    """Worth one more try: the server could not be reached, was too slow, was busy (429) or failed (5xx)."""
    import openai

    return isinstance(exc, openai.APIConnectionError | openai.InternalServerError | openai.RateLimitError)


def retry_after(exc: BaseException) -> float | None:
    """The wait an HTTP error asks for: ``retry-after-ms``, or ``Retry-After`` in seconds or as a date."""
    import openai

    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    if (millis := number(headers.get("retry-after-ms"))) is not None:
        return millis / 1000
    value = headers.get("retry-after")
    if value is None or (seconds := number(value)) is not None:
        return None if value is None else seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: the retry layer falls back to its own backoff
    return (when - datetime.now(when.tzinfo or UTC)).total_seconds()


def number(value: str | None) -> float | None:
    """A header value as a number of seconds, or None if it is absent or not a number."""
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def explain_fault(exc: BaseException, settings: Settings) -> str:
    """What the user is told when the dialogue model fails; the session stays usable."""
    cause, advice = diagnose(exc, settings)
    return f"Sorry, {cause}. {NOTHING_CHANGED}; {advice}."


def diagnose(exc: BaseException, settings: Settings) -> tuple[str, str]:
    """What went wrong with a model call, and what to do about it."""
    import openai

    if isinstance(exc, openai.APITimeoutError | TurnDeadlineExceeded):
        limits = f"{settings.llm_timeout_s:g} s per call, {settings.llm_turn_timeout_s:g} s per turn"
        return f"the dialogue model did not answer in time (limits: {limits})", "please try again"
    if isinstance(exc, openai.LengthFinishReasonError | AnswerCutOff):
        # openai's LengthFinishReasonError: a json-mode answer (parsed by openai) stopped at max_tokens.
        cause = f"the dialogue model's answer was cut off at its limit of {settings.llm_max_tokens} tokens"
        return cause, "raise DIALOGPAINT_LLM_MAX_TOKENS, or ask for less in one message"
    if isinstance(exc, openai.APIConnectionError) and len(settings.llm_urls) > 1:  # the fleet tried each
        servers = ", ".join(redacted(url) for url in settings.llm_urls)
        return f"none of the dialogue model servers ({servers}) can be reached", "check that they are running"
    if isinstance(exc, openai.APIConnectionError):
        where = f"the dialogue model server at {redacted(base_url(settings))} cannot be reached"
        return where, "check that it is running (`dialogpaint doctor` tests it)"
    if isinstance(exc, openai.RateLimitError):
        return "the dialogue model server is busy (HTTP 429, too many requests)", "please wait a moment and try again"
    said = server_message(exc) if isinstance(exc, openai.APIStatusError) else ""
    if isinstance(exc, openai.BadRequestError) and "--enable-auto-tool-choice" in said:
        # vLLM's 400 for tool_choice="auto" on a server started without a tool parser.
        cause = f"the dialogue model server has no tool parser ({first_sentence(said)})"
        return cause, (
            "start vLLM with --enable-auto-tool-choice --tool-call-parser <parser> (docs/serving.md), "
            "or set DIALOGPAINT_LLM_TOOL_MODE=required, which needs no parser"
        )
    if isinstance(exc, openai.BadRequestError) and context_overflow(said):
        cause = f"the conversation no longer fits the model's context window ({first_sentence(said)})"
        return cause, f"lower DIALOGPAINT_CONTEXT_TOKENS (now {settings.context_tokens}) or start a new session"
    if isinstance(exc, openai.APIStatusError):
        cause = f"the dialogue model server answered HTTP {exc.status_code} ({first_sentence(said)})"
        return cause, "please try again" if exc.status_code >= 500 else "check the server's settings"
    if isinstance(exc, ValueError) and "No generations found in stream" in str(exc):
        # No chunk parsed at all: an empty streamed answer, or a body that is not an SSE completion stream.
        cause = "the dialogue model server's stream held no answer (empty, or not a chat completion stream)"
        return cause, "please try again, and check DIALOGPAINT_LLM if it keeps happening"
    # langchain-openai raises ValueError for a non-JSON body and TypeError for JSON without 'choices'.
    if isinstance(exc, openai.APIResponseValidationError | ValueError | TypeError):
        cause = "the dialogue model server sent something that is not a chat completion"
        return cause, "check that DIALOGPAINT_LLM is the server's OpenAI API URL"
    return f"the dialogue model failed ({type(exc).__name__})", "please try again"


def server_message(exc: Any) -> str:
    """What the server said in an ``openai.APIStatusError``: the error body's message when it has one.

    openai 3 puts only the status in ``exc.message`` ("Error code: 400"), openai 2 the whole body's repr;
    both keep the parsed error object in ``exc.body``, so that is read first.
    """
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return str(exc.message)


def context_overflow(message: str) -> bool:
    """Whether a 400 says the prompt is longer than the model's context (vLLM's and OpenAI's wording)."""
    return bool(re.search(r"maximum context length|context_length_exceeded|context window", message, re.I))


def first_sentence(message: str, limit: int = 200) -> str:
    """The first sentence of a server message (without openai's 'Error code: N - '), short enough to show."""
    message = re.sub(r"^Error code: \d+( - )?", "", " ".join(message.split()))
    sentence = re.split(r"(?<=[.!?])\s", message, maxsplit=1)[0].rstrip(".") or "no message"
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"
