"""FleetChatModel: several OpenAI-compatible servers (a vLLM fleet) behind one chat model, with failover.

``DIALOGPAINT_LLM=http://a:8000,http://b:8000`` lists the servers in order of preference. A call
goes to the first server not marked down; a connection error, timeout, 429 or 5xx from it marks it
down for ``cooldown_s`` and the same call goes on to the next. A server marked down is still tried
last, so a fleet that is wholly down fails with the last server's error, which the graph's one retry
layer and fault messages handle as for a single server. Other errors (a 400) are the request's fault
and are raised at once: every server would answer them the same. ``dialogpaint doctor`` checks each.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

logger = logging.getLogger(__name__)


class FleetChatModel(BaseChatModel):
    """Chat models for the same model on several servers, tried in order of health, then preference."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    members: list[BaseChatModel]
    names: list[str]  # each member's server, as logs and messages show it (credentials redacted)
    transient: Callable[[BaseException], bool]
    cooldown_s: float = Field(30.0, gt=0)
    _down_until: dict[int, float] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "dialogpaint-fleet"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer tools in the OpenAI format, as ChatOpenAI does; each member gets them on its call."""
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def order(self) -> list[int]:
        """Member indexes to try: those not marked down first, each group in the configured order."""
        now = time.monotonic()
        with self._lock:
            down = {i for i, until in self._down_until.items() if until > now}
        return [i for i in range(len(self.members)) if i not in down] + sorted(down)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        last: BaseException | None = None
        for index in self.order():
            try:
                answer = self.members[index].invoke(messages, stop=stop, **kwargs)
            except Exception as exc:
                if not self.transient(exc):
                    raise
                with self._lock:
                    self._down_until[index] = time.monotonic() + self.cooldown_s
                logger.warning("dialogue model server %s failed (%r); trying the next", self.names[index], exc)
                last = exc
                continue
            with self._lock:
                self._down_until.pop(index, None)
            return ChatResult(generations=[ChatGeneration(message=answer)])
        assert last is not None  # members is never empty
        raise last
