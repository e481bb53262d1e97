"""The two baselines of the simulated-user evaluation, as chat models wrapping the agent's own model.

Both run through the same graph, tools and harness as the agent they wrap, so only the asking differs:

- ``never_ask``: never asks. Where the wrapped model asks a clarifying question, it edits instead with
  the generative editor on the user's message as written: a single-turn editor's behaviour. It runs
  at the run's confirmation setting like every agent (a proposal awaiting yes/no is the graph's
  policy for costly edits, not the model's question), so the headline tables compare like with like;
  ``dialogpaint --confirm never simulate`` is the run where nobody proposes.
- ``ask_once``: asks once before acting on the opening. Where the wrapped model would act on the first
  message, it asks the generic question instead; its own question is kept; afterwards it decides alone.

Tool-calling modes only (``auto`` and ``required``): in the JSON mode the model's answer is text that
the wrapper would have to parse, and it refuses instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.eval.simulate.cases import GENERATIVE

Baseline = Literal["never_ask", "ask_once"]
BASELINES: tuple[Baseline, ...] = ("never_ask", "ask_once")
ASK = "ask_clarification"
GENERIC_QUESTION = "What would you like me to change?"


class BaselineModel(BaseChatModel):
    """The wrapped model's decisions, with its asking replaced as the baseline ``kind`` says."""

    inner: BaseChatModel
    kind: Baseline

    @property
    def _llm_type(self) -> str:
        return f"dialogpaint-baseline-{self.kind}"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer tools in the OpenAI format; the wrapped model gets them on its call."""
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if "response_format" in kwargs:
            raise ValueError(f"the {self.kind} baseline needs a tool-calling mode (auto or required), not json")
        metadata = run_manager.metadata if run_manager else {}
        answer = self.inner.invoke(messages, {"metadata": metadata}, stop=stop, **kwargs)
        if not isinstance(answer, AIMessage):
            raise TypeError(f"the wrapped model answered a {type(answer).__name__}, not an AIMessage")
        names = {t["function"]["name"] for t in kwargs.get("tools") or []}
        message = never_ask(answer, messages, names) if self.kind == "never_ask" else ask_once(answer, messages)
        return ChatResult(generations=[ChatGeneration(message=message)])


def never_ask(answer: AIMessage, messages: Sequence[BaseMessage], names: set[str]) -> AIMessage:
    """``answer`` with every question replaced by a generative edit of the user's latest message."""
    if not any(call["name"] == ASK for call in answer.tool_calls):
        return answer
    if GENERATIVE not in names:
        raise ValueError(f"the never_ask baseline edits with {GENERATIVE}, which is not among the tools")
    text = last_user_text(messages)[:300]
    calls = [c for c in answer.tool_calls if c["name"] != ASK]
    calls.append(_call(GENERATIVE, {"instruction": text}))
    return AIMessage(content="", tool_calls=calls)


def ask_once(answer: AIMessage, messages: Sequence[BaseMessage]) -> AIMessage:
    """``answer``, or the generic question when this is the decision on the opening and it would not ask."""
    opening = sum(isinstance(m, HumanMessage) for m in messages) == 1
    if not opening or any(call["name"] == ASK for call in answer.tool_calls):
        return answer
    return AIMessage(content="", tool_calls=[_call(ASK, {"question": GENERIC_QUESTION, "options": []})])


def last_user_text(messages: Sequence[BaseMessage]) -> str:
    """The text of the latest user message."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text.strip() or "edit the image"
    return "edit the image"


def _call(name: str, args: dict[str, Any]) -> ToolCall:
    return ToolCall(name=name, args=args, id=f"call_{uuid.uuid4().hex[:24]}", type="tool_call")
