"""One factory from settings to a chat model, and the Yes/No judge on top of any of them."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage

from retrieval.errors import LLMError
from retrieval.settings import Settings


def build_chat_model(settings: Settings, backend: str | None = None) -> BaseChatModel | None:
    """The configured LLM; ``None`` for the extractive backend, which uses no LLM at all."""
    backend = backend or settings.llm_backend
    if backend == "extractive":
        return None
    if backend == "llamacpp":
        from retrieval.llm.llamacpp import LlamaCppChatModel
        from retrieval.llm.model_files import packaged_model_path

        path = settings.llm_model_path or packaged_model_path(settings.models_dir)
        if not path.is_file():
            raise LLMError(f"ARTICLEBOT_LLM_MODEL_PATH {path} is not a file")
        return LlamaCppChatModel(model_path=path, n_threads=settings.llm_threads, n_ctx=settings.llm_context,
                                 max_tokens=settings.llm_max_tokens)
    if backend == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                          model=settings.openai_model, temperature=0, timeout=settings.llm_timeout_s,
                          max_retries=1, max_completion_tokens=settings.llm_max_tokens)
    if backend == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(base_url=settings.ollama_url, model=settings.ollama_model, temperature=0,
                          num_predict=settings.llm_max_tokens, client_kwargs={"timeout": settings.llm_timeout_s})
    raise LLMError(f"unknown LLM backend '{backend}' (llamacpp, openai, ollama or extractive)")


def invoke_text(model: BaseChatModel, messages: list[BaseMessage], stop: list[str] | None = None) -> str:
    """The model's reply as text; every backend failure becomes one :class:`LLMError`. ``stop`` ends
    generation early where only the start of the reply is read (every LangChain backend takes it)."""
    try:
        reply: Any = model.invoke(messages, stop=stop) if stop else model.invoke(messages)
    except LLMError:
        raise
    except Exception as exc:  # httpx, openai, ollama and llama.cpp errors alike
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise LLMError(f"the language model failed: {detail}") from exc
    content = reply.content if hasattr(reply, "content") else reply
    if isinstance(content, list):
        content = "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in content)
    return str(content)


def yes_probability(model: BaseChatModel, messages: list[BaseMessage]) -> float:
    """P(Yes) where the backend exposes its logits, else 1.0 or 0.0 from the text of its reply."""
    exact = getattr(model, "yes_probability", None)
    if callable(exact):
        try:
            return float(exact(messages))
        except LLMError:
            raise
        except Exception as exc:
            raise LLMError(f"the language model failed: {exc}") from exc
    text = invoke_text(model, messages).strip().lower()
    return 1.0 if re.match(r"^\W*(yes|oui|s[ií]|ja|da)\b", text) else 0.0
