"""llama.cpp as a LangChain chat model, plus the one thing chat APIs lack: P("Yes").

The relevance judge needs the probability the model puts on "Yes" versus "No" for its next
token. llama-cpp-python only exposes log-probabilities when every position's logits are kept
(gigabytes at a 4k context), so we evaluate the prompt and read the last position's logits
directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

from retrieval.errors import LLMError

log = logging.getLogger(__name__)

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_PARAMS_LOCK = threading.Lock()


def uses_amx(system_info: str | None = None) -> bool:
    """Whether llama.cpp runs with AMX here (built with it, on a CPU that has it), where its AMX
    weight layout crashes in decoding.

    Seen on a Sapphire Rapids VM with llama-cpp-python 0.3.36 built natively: a segmentation fault
    in the first decode (llama.cpp issue 20824 reports the same in ggml_backend_amx_mul_mat). A
    build without AMX keeps its repacked buffers, whatever the CPU.
    """
    if system_info is None:
        import llama_cpp

        system_info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    return "AMX_INT8 = 1" in system_info


@contextmanager
def _without_extra_buffer_types() -> Iterator[None]:
    """Load with llama.cpp's repacked weight buffers (AMX among them) turned off.

    ``Llama`` has no argument for ``use_extra_bufts``; it reads the library's default model
    parameters, so those are swapped for the duration of one load.
    """
    import llama_cpp.llama as high_level

    low_level = high_level.llama_cpp
    original = low_level.llama_model_default_params

    def defaults() -> Any:
        params = original()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    with _PARAMS_LOCK:
        low_level.llama_model_default_params = defaults
        try:
            yield
        finally:
            low_level.llama_model_default_params = original


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]


class LlamaCppChatModel(BaseChatModel):
    """A GGUF model run in-process by llama.cpp; greedy decoding, so answers are repeatable."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: Path
    n_threads: int = 2
    n_ctx: int = 4096
    max_tokens: int = 256
    _llm: Any = PrivateAttr(default=None)
    _formatter: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def _load(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama, llama_chat_format
            except ImportError as exc:
                raise LLMError("llama-cpp-python is not installed: pip install 'articlebot[llm]'") from exc
            amx = uses_amx()
            if amx:
                log.info("llama.cpp uses AMX here: its repacked weight buffers are off (they crash there)")
            try:
                with _without_extra_buffer_types() if amx else nullcontext():
                    self._llm = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx,
                                      n_threads=self.n_threads, verbose=False)
            except (ValueError, RuntimeError, OSError) as exc:
                raise LLMError(f"cannot load the GGUF model {self.model_path}: {exc}") from exc
            template = self._llm.metadata.get("tokenizer.chat_template")
            if template:
                eos = self._llm.detokenize([self._llm.token_eos()]).decode("utf-8", "ignore")
                self._formatter = llama_chat_format.Jinja2ChatFormatter(template=template, eos_token=eos,
                                                                        bos_token="")
        return self._llm

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            llm = self._load()
            try:
                result = llm.create_chat_completion(
                    to_openai_messages(messages), max_tokens=kwargs.get("max_tokens", self.max_tokens),
                    temperature=0.0, stop=stop,
                )
            except (ValueError, RuntimeError) as exc:
                raise LLMError(f"the local LLM failed: {exc}") from exc
        choice = result["choices"][0]
        text = choice["message"]["content"] or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text),
                                                      generation_info={"finish_reason": choice.get("finish_reason")})])

    def yes_probability(self, messages: list[BaseMessage]) -> float:
        """P(first answer token is Yes | Yes or No), from the model's own logits."""
        with self._lock:
            llm = self._load()
            if self._formatter is None:
                raise LLMError("the GGUF model has no chat template")
            prompt = self._formatter(messages=to_openai_messages(messages)).prompt
            tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            if len(tokens) >= self.n_ctx:
                tokens = tokens[-(self.n_ctx - 1):]
            # Reuse the evaluated prefix (system prompt, question) of the previous call.
            same = 0
            limit = min(llm.n_tokens, len(tokens) - 1)
            previous = llm.input_ids
            while same < limit and previous[same] == tokens[same]:
                same += 1
            llm.n_tokens = same
            llm.eval(tokens[same:])
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
            yes = [llm.tokenize(w.encode(), add_bos=False)[0] for w in ("Yes", "yes", " Yes")]
            no = [llm.tokenize(w.encode(), add_bos=False)[0] for w in ("No", "no", " No")]
        top = logits.max()
        p_yes = float(np.exp(logits[yes] - top).sum())
        p_no = float(np.exp(logits[no] - top).sum())
        return p_yes / (p_yes + p_no) if p_yes + p_no > 0 else 0.0
