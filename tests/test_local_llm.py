"""The packaged local LLM itself, through the LangChain interface the pipeline uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from retrieval.llm.backends import invoke_text
from retrieval.llm.llamacpp import LlamaCppChatModel
from retrieval.prompt_templates import PromptLibrary
from retrieval.query_enhancement import LLMTranslator


@pytest.mark.slow
def test_the_local_llm_stops_at_a_stop_string_and_the_translator_gets_one_line(gguf: Path) -> None:
    llm = LlamaCppChatModel(model_path=gguf, n_threads=2, n_ctx=2048, max_tokens=64)
    ask = [HumanMessage(content="Write the numbers one to five in English words, one per line, nothing else.")]
    assert "\n" in invoke_text(llm, ask).strip()
    first_line = invoke_text(llm, ask, stop=["\n"]).strip()
    assert first_line and "\n" not in first_line

    translation = LLMTranslator(llm, PromptLibrary())("Who leads the unity government?", "fr")
    assert "gouvernement" in translation.lower() and "\n" not in translation
