"""Chat-model factories: the embedded local policy (default) or an OpenAI-compatible server (vLLM)."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from agent.settings import Settings


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The dialogue model the settings ask for; heavy clients are imported only when chosen."""
    if settings.llm == "local":
        from agent.policy.local import LocalPolicy

        return LocalPolicy()
    return openai_compatible(settings)


def openai_compatible(settings: Settings) -> BaseChatModel:
    """ChatOpenAI pointed at a vLLM (or other OpenAI-compatible) base URL, with explicit timeouts.

    The OpenAI client is the only retry layer (``max_retries``); it does not retry 4xx other than 429.
    """
    try:
        import httpx
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise RuntimeError(
            "an OpenAI-compatible --llm needs langchain-openai: pip install 'dialogpaint[vllm]'"
        ) from exc
    base_url = settings.llm if settings.llm.endswith("/v1") else settings.llm + "/v1"
    model: BaseChatModel = ChatOpenAI(
        base_url=base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=httpx.Timeout(settings.llm_timeout_s, connect=settings.llm_connect_timeout_s),
        max_retries=settings.llm_max_retries,
    )
    return model
