"""llama.cpp as a LangChain chat model, plus the one thing chat APIs lack: P("Yes").

The relevance judge needs the probability the model puts on "Yes" versus "No" for its next
token. llama-cpp-python only exposes log-probabilities when every position's logits are kept
(gigabytes at a 4k context), so we evaluate the prompt and read the last position's logits
directly.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections import OrderedDict
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
# A system prompt shorter than this is re-read faster than its saved state is worth keeping.
_PREFIX_MIN_TOKENS = 32
# The system prompts whose evaluated state is kept: one per long template (answer, polish, condense).
_PREFIX_STATES = 16


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
    _prefixes: OrderedDict[tuple[int, ...], bytes] = PrivateAttr(default_factory=OrderedDict)

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
            chat = to_openai_messages(messages)
            try:
                self._with_system_prompt_read(llm, chat)
                result = llm.create_chat_completion(
                    chat, max_tokens=kwargs.get("max_tokens", self.max_tokens),
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
            chat = to_openai_messages(messages)
            tokens = self._tokens(llm, chat)
            self._with_system_prompt_read(llm, chat, tokens)
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

    def _tokens(self, llm: Any, chat: list[dict[str, str]]) -> list[int]:
        prompt = self._formatter(messages=chat).prompt
        return llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def _with_system_prompt_read(self, llm: Any, chat: list[dict[str, str]], tokens: list[int] | None = None) -> None:
        """Leave the context holding the prompt's system message already evaluated, from a state
        saved the first time it was read, so that only the rest of the prompt is read now.

        llama.cpp reuses the prefix a prompt shares with the previous one, but one question's calls
        alternate templates (judge, answer, verify), so the answer's 180-token rules were read anew
        every time: about 2 s of a 10 s answer on two cores. A prompt read in two parts gives the
        same logits, bit for bit, as read at once (``tests/test_local_llm.py``). ``tokens``: the
        prompt's, when the caller has them already."""
        if self._formatter is None or not chat or chat[0]["role"] != "system":
            return
        tokens = tokens if tokens is not None else self._tokens(llm, chat)
        alone = self._tokens(llm, chat[:1])
        n = 0
        while n < min(len(tokens), len(alone)) - 1 and tokens[n] == alone[n]:
            n += 1
        prefix = tuple(tokens[:n])
        if n < _PREFIX_MIN_TOKENS or (llm.n_tokens >= n and tuple(llm.input_ids[:n]) == prefix):
            return
        import llama_cpp

        ctx = llm._ctx.ctx
        state = self._prefixes.get(prefix)
        if state is None:
            llm.n_tokens = 0
            llm.eval(list(prefix))
            size = llama_cpp.llama_state_seq_get_size(ctx, 0)
            buffer = (ctypes.c_uint8 * size)()
            self._prefixes[prefix] = ctypes.string_at(buffer, llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0))
            while len(self._prefixes) > _PREFIX_STATES:
                self._prefixes.popitem(last=False)
            return
        self._prefixes.move_to_end(prefix)
        llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        llm.n_tokens = 0
        data = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if llama_cpp.llama_state_seq_set_data(ctx, data, len(state), 0) == 0:
            llm._ctx.kv_cache_seq_rm(-1, 0, -1)  # the prompt is then read whole, as before
            return
        llm.input_ids[:n] = prefix
        llm.n_tokens = n
        llm._requires_eval = True  # the logits are not this prompt's: the rest of it must be read
