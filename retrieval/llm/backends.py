"""One factory from settings to a chat model, and the Yes/No judge on top of any of them."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable

from retrieval.errors import LLMError
from retrieval.settings import Settings

T = TypeVar("T")


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
    """The model's reply as text, without the reasoning a thinking model writes first; every backend
    failure becomes one :class:`LLMError`. ``stop`` ends generation early where only the start of the
    reply is read (every LangChain backend takes it); a thinking model it stopped inside its reasoning
    or right after it is asked again without it."""
    raw = _text(_invoke(model, messages, stop=stop))
    if stop and _reasoning_end(raw) != 0 and not _after_reasoning(raw):
        raw = _text(_invoke(model, messages))
    return _answer(raw)


def _invoke(model: Runnable[Any, Any], messages: list[BaseMessage], stop: list[str] | None = None) -> Any:
    return _guarded(lambda: model.invoke(messages, stop=stop) if stop else model.invoke(messages), model)


def _guarded(call: Callable[[], T], model: Any = None) -> T:
    """``call()``, its failure one :class:`LLMError` of one line, naming the server it came from."""
    try:
        return call()
    except LLMError:
        raise
    except Exception as exc:  # httpx, openai, ollama and llama.cpp errors alike
        where = _server_of(model)
        raise LLMError(f"the language model{f' at {where}' if where else ''} failed: {_first_line(exc)}") from exc


def _server_of(model: Any) -> str:
    """The URL of the model's server ('' in process), without any user or password in it: "Connection
    refused" alone does not say that ARTICLEBOT_OPENAI_BASE_URL has the wrong port."""
    model = getattr(model, "bound", model)  # a model bound to options (logprobs=True)
    url = getattr(model, "openai_api_base", None) or getattr(model, "base_url", None)
    if not isinstance(url, str) or not url:
        return ""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))) \
        if parts.hostname else ""


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _text(reply: Any) -> str:
    content = reply.content if hasattr(reply, "content") else reply
    if isinstance(content, list):
        content = "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in content)
    return str(content)


# Thinking models (Qwen3, DeepSeek-R1, QwQ) reason in <think> tags before they answer, and Ollama and
# llama.cpp's server leave those tags in the reply unless told otherwise. Some chat templates open the
# tag in the prompt, so the reply may hold only the closing one.
_THINK_OPEN = re.compile(r"^\s*<think(?:ing)?>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think(?:ing)?>", re.IGNORECASE)
THOUGHT_TOO_LONG = ("the language model used up its tokens while still thinking: raise ARTICLEBOT_LLM_MAX_TOKENS "
                    "or turn the model's thinking off")


def _reasoning_end(text: str) -> int | None:
    """Where the answer begins: after the last closing think tag, 0 without one; ``None`` when
    the reasoning never ended (the model ran out of tokens)."""
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        return closes[-1].end()
    return None if _THINK_OPEN.match(text) else 0


def _after_reasoning(text: str) -> str | None:
    """The reply's text after any reasoning; ``None`` when the reasoning never ended."""
    end = _reasoning_end(text)
    if end is None:
        return None
    return text[end:].lstrip() if end else text


def _answer(raw: str) -> str:
    """The reply's text after any reasoning; a model that never stopped thinking is an error."""
    text = _after_reasoning(raw)
    if text is None:
        raise LLMError(THOUGHT_TOO_LONG)
    return text


_YES = re.compile(r"^\W*(yes|oui|s[ií]|ja|da)\b")
_NO = re.compile(r"^\W*(no|non|nein|nu)\b")


def yes_probability(model: BaseChatModel, messages: list[BaseMessage]) -> float:
    """P(Yes): from the model's logits in process; from the first token's log-probabilities where an
    OpenAI-compatible server gives them (OpenAI, vLLM, llama.cpp's server), so that the judge's and
    the support check's thresholds mean what they mean with the local model; else 1.0 or 0.0 from the
    text of the reply (a model or server that refuses log-probabilities: reasoning models do)."""
    exact = getattr(model, "yes_probability", None)
    if callable(exact):
        return _guarded(lambda: float(exact(messages)))
    reply = _with_logprobs(model, messages) if _takes_logprobs(model) else None
    if reply is None:
        reply = _invoke(model, messages)
    p = _yes_from_logprobs((getattr(reply, "response_metadata", None) or {}).get("logprobs"))
    if p is not None:
        return p
    return 1.0 if _YES.match(_answer(_text(reply)).strip().lower()) else 0.0


def _takes_logprobs(model: BaseChatModel) -> bool:
    """Whether the model speaks the OpenAI API, whose ``logprobs`` option asks for log-probabilities
    (only then is the module already imported, by :func:`build_chat_model`)."""
    module = sys.modules.get("langchain_openai.chat_models.base")
    return module is not None and isinstance(model, module.BaseChatOpenAI)


def _with_logprobs(model: BaseChatModel, messages: list[BaseMessage]) -> Any:
    """The reply with its first tokens' log-probabilities; ``None`` when the server refuses the option
    (HTTP 400), so the caller asks again without it. Any other failure is an :class:`LLMError`."""
    try:
        return _invoke(model.bind(logprobs=True, top_logprobs=10), messages)
    except LLMError as exc:
        if getattr(exc.__cause__, "status_code", None) == 400:
            return None
        raise


def _yes_from_logprobs(logprobs: Any) -> float | None:
    """P(Yes | Yes or No) over the most likely alternatives ("Yes", " yes", "No" …) of the answer's
    first token, after any reasoning; ``None`` when there are none or neither word is among them
    (the reply's text decides then)."""
    try:
        first = _first_answer_token(logprobs["content"])
        if first is None:
            return None
        alternatives = first.get("top_logprobs") or [first]
        yes = no = 0.0
        for alt in alternatives:
            word = str(alt["token"]).strip().lower()
            if _YES.match(word):
                yes += math.exp(float(alt["logprob"]))
            elif _NO.match(word):
                no += math.exp(float(alt["logprob"]))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return None
    return yes / (yes + no) if yes + no > 0 else None


def _first_answer_token(tokens: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first token that is not reasoning or blank: a thinking model's first token is "<think>",
    whose alternatives say nothing about its answer."""
    end = _reasoning_end("".join(str(t["token"]) for t in tokens))
    if end is None:
        return None
    offset = 0
    for token in tokens:
        start, offset = offset, offset + len(str(token["token"]))
        if start >= end and str(token["token"]).strip():
            return token
    return None
