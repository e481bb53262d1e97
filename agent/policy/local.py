"""LocalPolicy: a chat model that decides from the conversation, offline, with no weights.

It implements the same contract as the vLLM-served model: messages in, one AIMessage out with tool
calls for the bound tools or plain text. It reads no sentence the graph wrote: the user's words, the
tool calls of earlier AI messages, the outcomes on ToolMessages (graphs.outcomes) and the facts the
system prompt states in words, which the graph hands it as data (graphs.facts).

The decision's parts: the typed view of the turn (``context``), the ordered rule layers (``rules``),
the calls an edit request makes (``edits``) and the act model's verdict over the rules (``acts``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.policy import replies
from agent.policy.act_model import ActModel, shipped
from agent.policy.acts import respond_learned
from agent.policy.commands import dialogue_act
from agent.policy.context import Context, Decision, from_calls, read_context
from agent.policy.referents import answer_referent
from agent.policy.rules import respond
from graphs.facts import DialogueFacts, facts_in


class LocalPolicy(BaseChatModel):
    """The embedded dialogue policy: a learned act model over rules for arguments, no network, no downloads.

    ``learned=False`` (or no shipped weights) decides with the rules alone, the baseline the
    learned model is measured against; ``act_model`` replaces the shipped weights (a retrained file).
    """

    learned: bool = True
    act_model: ActModel | None = None

    @property
    def _llm_type(self) -> str:
        return "dialogpaint-local-policy"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tool schemas (any format ``bind_tools`` accepts); they arrive in ``_generate``."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = {t["function"]["name"]: t for t in kwargs.get("tools") or []}
        model = (self.act_model or shipped()) if self.learned else None
        message = policy_answer(messages, tools, facts_in(run_manager.metadata if run_manager else None), model)
        return ChatResult(generations=[ChatGeneration(message=message)])


def policy_answer(
    messages: Sequence[BaseMessage],
    tools: dict[str, dict[str, Any]],
    facts: DialogueFacts | None = None,
    model: ActModel | None = None,
) -> AIMessage:
    """The policy: one decision for the latest user message, from the first layer of ``layers`` that decides.

    Args:
        facts: what the system prompt tells a served model, as data (None: a fresh session with no
            generative tool and nothing pending).
        model: the act model; None decides with the rules alone.
    """
    if not messages or isinstance(messages[-1], ToolMessage):
        # Our calls are valid by construction; an error here means a tool was refused or missing.
        return AIMessage(replies.CONFUSED)
    ctx = read_context(messages, tools, facts)
    decision = next(d for layer in layers(model) if (d := layer(ctx)) is not None)
    text = decision.text or ctx.note or replies.CONFUSED  # never an empty answer
    return AIMessage(content=text if not ctx.calls else "", tool_calls=ctx.calls)


def layers(model: ActModel | None) -> list[Callable[[Context], Decision | None]]:
    """The policy's precedence, first to last: each layer decides (queues calls or says something) or passes."""
    last: Callable[[Context], Decision | None] = respond if model is None else partial(respond_learned, model=model)
    return [which_one_answer, nothing_applied, last]


def which_one_answer(ctx: Context) -> Decision | None:
    """The answer to our which-one question (graphs/nodes/disambiguate.py): the held-up edit, narrowed."""
    return from_calls(ctx) if answer_referent(ctx.messages, ctx.text, ctx.call) else None


def nothing_applied(ctx: Context) -> Decision | None:
    """'undo' or 'back to the original' when no edit was ever applied says so plainly."""
    if ctx.edit_count == 0 and not ctx.pending and dialogue_act(ctx.text) == "undo":
        return Decision("chat", replies.nothing_applied(ctx.last_failed))
    return None
