"""The packaged local LLM itself, through the LangChain interface the pipeline uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from retrieval.llm import llamacpp
from retrieval.llm.backends import invoke_text, yes_probability
from retrieval.llm.llamacpp import LlamaCppChatModel, to_openai_messages, uses_amx
from retrieval.prompt_templates import PromptLibrary
from retrieval.query_enhancement import LLMTranslator
from retrieval.settings import Settings


@pytest.fixture(scope="module")
def llm(gguf: Path) -> LlamaCppChatModel:
    """One loaded model for the module's tests: loading the 1.1 GB file is the slow part."""
    return LlamaCppChatModel(model_path=gguf, n_threads=2, n_ctx=2048, max_tokens=64)


@pytest.mark.slow
def test_the_local_llm_stops_at_a_stop_string_and_the_translator_gets_one_line(llm: LlamaCppChatModel) -> None:
    ask = [HumanMessage(content="Write the numbers one to five in English words, one per line, nothing else.")]
    assert "\n" in invoke_text(llm, ask).strip()
    first_line = invoke_text(llm, ask, stop=["\n"]).strip()
    assert first_line and "\n" not in first_line

    translation = LLMTranslator(llm, PromptLibrary())("Who leads the unity government?", "fr")
    assert "gouvernement" in translation.lower() and "\n" not in translation


# Two sentences of an xquad paragraph (CC BY-SA 4.0) under its article's title, as a cited chunk is
# shown, and the sample article: passages in another language than the statement, the everyday case.
_CANARIES_ES = ("Normans\n"
                "Entre 1402 y 1405, el noble normando Jean de Bethencourt y el francés Gadifer de la Salle "
                "lideraron la expedición que conquistó las islas canarias de Lanzarote, Fuerteventura y El Hierro "
                "en la costa atlántica de África. Sus tropas se agruparon en Normandía, Gascuña y más tarde se "
                "vieron reforzadas por los colonos castellanos.")


@pytest.mark.slow
@pytest.mark.parametrize(("passage", "question", "right", "wrong"), [
    (_CANARIES_ES, "What continent are the Canarian Islands off the coast of?",
     "The Canarian Islands are off the coast of Africa.", "The Canarian Islands are off the coast of South America."),
    (None, "Who leads the unity government?",
     "The unity government is led by Fayez al-Serraj.", "The unity government is led by Martin Kobler."),
], ids=["xquad-es", "sample-fr"])
def test_the_shipped_support_check_passes_a_stated_answer_across_languages_and_refuses_a_misread_one(
        llm: LlamaCppChatModel, passage: str | None, question: str, right: str, wrong: str) -> None:
    """Kobler is in the article too (the UN envoy): the check must read who does what, not spot names."""
    passage = passage or (Path(__file__).parent.parent / "samples" / "libye-2016.txt").read_text(encoding="utf-8")
    template = PromptLibrary().get("verify", kind="verify")
    threshold = Settings().support_threshold

    def p_yes(answer: str) -> float:
        return yes_probability(llm, template.messages(passage=passage, question=question, answer=answer))

    assert p_yes(right) >= threshold > p_yes(wrong)


def test_amx_is_read_from_what_llama_cpp_reports() -> None:
    sapphire = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 | REPACK = 1 | "
    assert uses_amx(sapphire)
    assert not uses_amx("CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | REPACK = 1 | ")


@pytest.mark.slow
def test_where_llama_cpp_uses_amx_the_model_answers_with_repacked_buffers_off(
        gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With them on, llama-cpp-python 0.3.36 crashed the whole process in its first decode there."""
    import llama_cpp

    monkeypatch.setattr(llamacpp, "uses_amx", lambda: True)
    model = LlamaCppChatModel(model_path=gguf, n_threads=2, n_ctx=512, max_tokens=8)
    assert invoke_text(model, [HumanMessage(content="Say hello in French, one word.")]).strip()
    assert model._load().model_params.use_extra_bufts is False
    assert llama_cpp.llama_model_default_params().use_extra_bufts is True, "the library's defaults are restored"


@pytest.mark.slow
def test_a_system_prompt_read_once_is_not_read_again_and_changes_no_answer(
        llm: LlamaCppChatModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """One question's calls alternate templates (judge, answer, verify): the answer's rules were read
    anew each time, about 2 s of a 10 s answer on two cores."""
    article = (Path(__file__).parent.parent / "samples" / "libye-2016.txt").read_text(encoding="utf-8")[:1200]
    prompts = PromptLibrary()
    answer = prompts.get("answer", kind="answer").messages(
        context=f"[1] {article}", question="Who leads the unity government?", language="English", today="2026-12-05")
    judge = prompts.get("judge", kind="judge").messages(passage=article, question="Who is Martin Kobler?")
    model = llm._load()
    read: list[int] = []
    evaluate = model.eval
    monkeypatch.setattr(model, "eval", lambda tokens: (read.append(len(tokens)), evaluate(tokens))[1])

    def whole(call: object) -> object:
        """The call with the prompt read whole, as before the saved states."""
        with monkeypatch.context() as m:
            m.setattr(llamacpp, "_PREFIX_MIN_TOKENS", 10**6)
            model.n_tokens = 0
            return call()

    expected_answer = whole(lambda: invoke_text(llm, answer))
    expected_p = whole(lambda: yes_probability(llm, judge))
    assert "Serraj" in str(expected_answer)

    assert invoke_text(llm, answer) == expected_answer  # the rules read and saved, then the rest
    assert yes_probability(llm, judge) == expected_p
    read.clear()
    assert invoke_text(llm, answer) == expected_answer  # the rules restored, not read
    rules = len(llm._tokens(model, to_openai_messages(answer[:1])))
    prompt = len(llm._tokens(model, to_openai_messages(answer)))
    written = len(model.tokenize(str(expected_answer).encode("utf-8"), add_bos=False))
    assert sum(read) <= prompt - rules + written + 4, "only the excerpts and question are read, then the answer"
