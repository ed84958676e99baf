"""The answer pipeline's own logic, with a fake LLM so that every answer is deterministic.

The store and the embedding model are real; only the LLM's replies are scripted.
"""

from __future__ import annotations

import pytest

from retrieval.errors import BadInputError
from tests.conftest import SAMPLE
from tests.fakes import FakeScriptedLLM


@pytest.fixture
def engine_with(make_engine):  # type: ignore[no-untyped-def]
    def build(**kwargs):  # type: ignore[no-untyped-def]
        engine = make_engine(llm=FakeScriptedLLM(**kwargs))
        engine.ingest_paths([SAMPLE.parent])
        return engine

    return build


def test_fake_llm_answer_is_cited_with_numbered_sources(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="Fayez al-Serraj leads it [1].").ask("who leads the unity government?")
    assert not answer.abstained
    assert answer.answer == "Fayez al-Serraj leads it [1]."
    assert answer.sources[0].n == 1 and answer.sources[0].title == "libye 2016"
    assert set(answer.timings_ms) >= {"retrieve", "generate"}


def test_fake_llm_refusal_marker_means_abstention(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="NOT_IN_ARTICLES").ask("who leads the unity government?")
    assert answer.abstained and answer.sources == []
    assert answer.answer == "The articles do not say."


def test_fake_llm_judged_irrelevant_passages_are_never_sent_to_the_model(engine_with) -> None:  # type: ignore[no-untyped-def]
    engine = engine_with(reply="Lima [1]", verdict="No")
    answer = engine.ask("What is the capital of Peru?")
    assert answer.abstained
    assert not any(call.startswith("Excerpts:") for call in engine.llm.calls)


def test_fake_llm_invented_number_is_caught_by_the_grounding_check(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="The US will send twenty-five to thirty soldiers [1].").ask(
        "How many soldiers will the US send to Libya?")
    assert answer.abstained and "numbers" in answer.reason


def test_fake_llm_answer_the_verifier_rejects_is_withdrawn(engine_with) -> None:  # type: ignore[no-untyped-def]
    def verdict(prompt: str) -> str:
        return "No" if "Proposed answer" in prompt else "Yes"

    answer = engine_with(reply="Lima [1]", verdict=verdict).ask("who leads the unity government?")
    assert answer.abstained and "grounding" in answer.reason


def test_fake_llm_answer_without_citation_cites_the_judged_passage(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="Fayez al-Serraj").ask("who leads the unity government?")
    assert answer.answer == "Fayez al-Serraj [1]" and len(answer.sources) == 1


def test_fake_llm_out_of_range_citation_is_dropped(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="Fayez al-Serraj [1][9]").ask("who leads the unity government?")
    assert "[9]" not in answer.answer and [s.n for s in answer.sources] == [1]


def test_fake_llm_follow_up_is_condensed_before_retrieval(engine_with) -> None:  # type: ignore[no-untyped-def]
    def reply(prompt: str) -> str:
        if prompt.startswith("Conversation:"):
            return "Who is the UN special envoy to Libya?"
        return "Martin Kobler [1]"

    engine = engine_with(reply=reply)
    answer = engine.ask("and the UN's envoy?", history=[("who leads the unity government?", "Fayez al-Serraj [1]")])
    assert answer.standalone_question == "Who is the UN special envoy to Libya?"
    assert "Kobler" in " ".join(h.text for h in answer.retrieved[:2])


@pytest.mark.parametrize("question", ["", "   ", "x" * 1_000_000])
def test_empty_or_huge_question_is_bad_input(engine_with, question: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadInputError):
        engine_with().ask(question)


def test_extractive_backend_cites_supporting_sentences(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(llm=None)
    engine.ingest_paths([SAMPLE])
    answer = engine.ask("Who is the UN special envoy to Libya?")
    assert not answer.abstained and "Martin Kobler" in answer.answer and "[1]" in answer.answer
