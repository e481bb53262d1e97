"""`dialogpaint doctor`: check the configured dialogue-model server before a user meets its faults."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tools.redaction import redacted

if TYPE_CHECKING:
    from agent.settings import Settings

PROBE_SYSTEM = "You are being tested. Call the undo tool with steps=2. Do not answer in text."
PROBE_USER = "Undo the last two edits."


@dataclass(frozen=True)
class Check:
    """The outcome of one check, as one line for the user."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """'PASS name: detail' or 'FAIL name: detail'."""
        return f"{'PASS' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def run_checks(settings: Settings) -> list[Check]:
    """Reachable (/v1/models answers), model listed, a tool call round-trips, the context fits a turn.

    Stops at the first failure.
    """
    if settings.llm == "local":
        return [Check("dialogue model", True, "the embedded local policy; no server to check")]
    reachable, models = check_models(settings)
    if not reachable.ok:
        return [reachable]
    checks = [reachable, check_listed(settings, list(models))]
    if checks[-1].ok:
        checks.append(check_tool_call(settings))
    context = models.get(settings.llm_model, {}).get("max_model_len")
    if checks[-1].ok and isinstance(context, int):  # vLLM lists it; other servers may not
        checks.append(check_context(settings, context))
    return checks


def check_models(settings: Settings) -> tuple[Check, dict[str, dict[str, Any]]]:
    """GET /v1/models: whether it answered, and the models served (id -> entry)."""
    import httpx

    from agent.models.factories import base_url

    url = base_url(settings) + "/models"
    shown = redacted(url)  # the URL as messages show it: no user name or password
    timeout = httpx.Timeout(settings.llm_timeout_s, connect=settings.llm_connect_timeout_s)
    headers = {"Authorization": f"Bearer {settings.llm_api_key.get_secret_value()}"}
    try:
        response = httpx.get(url, timeout=timeout, headers=headers)
    except httpx.HTTPError as exc:
        return Check("reachable", False, f"cannot reach {shown}: {exc or type(exc).__name__}"), {}
    if response.status_code != 200:
        hint = " (check DIALOGPAINT_LLM_API_KEY)" if response.status_code in (401, 403) else ""
        return Check("reachable", False, f"{shown} answered HTTP {response.status_code}{hint}"), {}
    try:
        models = {str(m["id"]): dict(m) for m in response.json()["data"]}
    except (ValueError, KeyError, TypeError):
        return Check(
            "reachable", False, f"{shown} did not answer with an OpenAI model list: {response.text[:80]!r}"
        ), {}
    seconds = response.elapsed.total_seconds()
    return Check("reachable", True, f"{shown} answered in {seconds:.2f} s, serving {len(models)} model(s)"), models


def check_listed(settings: Settings, ids: list[str]) -> Check:
    """Whether the configured model name is among those served."""
    if settings.llm_model in ids:
        return Check("model listed", True, f"{settings.llm_model} is served at {redacted(settings.llm)}")
    return Check(
        "model listed",
        False,
        f"{settings.llm_model!r} is not served at {redacted(settings.llm)}; it serves: {', '.join(ids) or 'nothing'}. "
        "Set DIALOGPAINT_LLM_MODEL (or --llm-model) to one of these.",
    )


def check_tool_call(settings: Settings) -> Check:
    """Ask for undo(steps=2) the way ``decide`` asks (same tool mode) and read the answer the same way."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    from agent.models.factories import diagnose, openai_compatible
    from graphs.modes import decision_runnable, read_decision
    from graphs.specs import Undo, control_tool_schema

    mode = settings.llm_tool_mode
    name = f"tool call ({mode} mode)"
    runnable, kwargs = decision_runnable(
        openai_compatible(settings), [control_tool_schema("undo"), control_tool_schema("redo")], mode
    )
    start = time.perf_counter()
    try:
        raw = runnable.invoke([SystemMessage(PROBE_SYSTEM), HumanMessage(PROBE_USER)], **kwargs)
    except Exception as exc:  # the check's boundary: every failure becomes a FAIL line
        cause, advice = diagnose(exc, settings)
        return Check(name, False, f"{cause}; {advice}")
    seconds = time.perf_counter() - start
    answer = read_decision(raw if isinstance(raw, AIMessage) else AIMessage(raw.content), mode)
    if not answer.tool_calls:
        return Check(name, False, no_call_hint(answer, mode))
    call: dict[str, Any] = dict(answer.tool_calls[0])
    if call["name"] != "undo":
        return Check(name, False, f"the model called {call['name']!r} instead of 'undo'")
    try:
        steps = Undo.model_validate(call["args"]).steps
    except ValueError as exc:
        return Check(name, False, f"undo came back with invalid arguments {call['args']}: {exc}")
    return Check(name, True, f"undo(steps={steps}) came back as a valid tool call in {seconds:.2f} s")


def check_context(settings: Settings, max_model_len: int) -> Check:
    """Whether a full turn fits the served context: prompt and tool schemas, conversation budget, answer."""
    from agent.models.prompts import prompt_tokens
    from agent.wiring import build_tools

    fixed = prompt_tokens(settings.llm_tool_mode, build_tools(settings))
    needed = fixed + settings.context_tokens + settings.llm_max_tokens
    sums = f"{fixed} (prompt and tools) + {settings.context_tokens} (conversation) + {settings.llm_max_tokens} (answer)"
    if needed <= max_model_len:
        return Check("context", True, f"about {needed} tokens a turn ({sums}) fit the server's {max_model_len}")
    room = max_model_len - fixed - settings.llm_max_tokens
    advice = f"set DIALOGPAINT_CONTEXT_TOKENS to {room} or less" if room >= 500 else "raise --max-model-len"
    return Check(
        "context",
        False,
        f"about {needed} tokens a turn ({sums}) exceed the server's --max-model-len {max_model_len}; {advice}, "
        "or start vLLM with a larger --max-model-len",
    )


def no_call_hint(answer: Any, mode: str) -> str:
    """Why no tool call came back, and what to change."""
    if answer.invalid_tool_calls:
        bad = answer.invalid_tool_calls[0]
        return f"the tool call could not be parsed ({bad.get('error') or bad.get('args')!s:.120})"
    said = str(answer.content)[:80]
    if mode == "auto":
        return (
            f"the model answered in text ({said!r}) instead of calling undo. Start vLLM with "
            "--enable-auto-tool-choice --tool-call-parser <parser>, or set DIALOGPAINT_LLM_TOOL_MODE=required"
        )
    return f"no tool call came back (text: {said!r})"


def doctor(ctx: typer.Context, quiet: Annotated[bool, typer.Option(help="Print failures only.")] = False) -> None:
    """Check the dialogue-model server: reachable, model listed, a tool call round-trips (exit 1 on failure)."""
    from agent.cli.common import settings_from, user_errors

    with user_errors():
        settings = settings_from(ctx)
    servers = [settings.model_copy(update={"llm": url}) for url in settings.llm_urls]  # each server of a fleet
    checks = [check for server in servers for check in run_checks(server)]
    for check in checks:
        if not (quiet and check.ok):
            typer.echo(check.line())
    if not all(c.ok for c in checks):
        raise typer.Exit(1)
