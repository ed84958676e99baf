"""Keyword search and score fusion: what decides which passage the bot reads first."""

from __future__ import annotations

from retrieval.keyword import BM25Index, terms
from retrieval.retriever import fuse

GERMAN = [
    "Die Regierung der nationalen Einheit wird von Fayez al-Sarradsch geführt.",
    "Das Wetter in Tripolis war am Wochenende sonnig und warm.",
    "Der Hafen von Misrata wurde 1234567 Mal angelaufen.",
    "Der Hafen von Bengasi wurde 1234599 Mal angelaufen.",
]
IDS = ["government", "weather", "misrata", "benghazi"]


def test_an_inflected_word_finds_its_passage_in_any_language() -> None:
    # A small model's translation says "Regierungen" where the article says "Regierung".
    index = BM25Index.build(IDS, GERMAN)
    assert [cid for cid, _ in index.search("Wer führt die Regierungen?", 2)][:1] == ["government"]
    whole_words = BM25Index.build(IDS, GERMAN, prefix=0)
    assert "government" not in [cid for cid, _ in whole_words.search("Regierungen", 2)]


def test_numbers_are_matched_whole_not_by_their_first_digits() -> None:
    index = BM25Index.build(IDS, GERMAN)
    assert [cid for cid, _ in index.search("1234567", 4)] == ["misrata"]
    assert terms("Fayez al-Sarradsch 2016") == ["fayez", "al", "sarra", "2016"]


def test_chinese_is_searched_by_pairs_of_characters() -> None:
    # Chinese has no spaces: as whole "words", a question never matched a passage's clause.
    passages = ["利比亚民族团结政府总理法耶兹·萨拉杰周四在的黎波里表示，政府将继续与联合国合作。",
                "会议在海军基地举行，安全部队加强了警戒。", "The unity government met in Tripoli."]
    index = BM25Index.build(["serraj", "base", "english"], passages)
    assert [cid for cid, _ in index.search("萨拉杰是谁？", 3)] == ["serraj"]
    assert terms("萨拉杰 2016年 Tripoli") == ["萨拉", "拉杰", "2016", "年", "tripo"]


def test_keyword_search_can_be_limited_to_one_language() -> None:
    index = BM25Index.build(["de", "fr"], ["Die Regierung in Tripolis", "Le gouvernement à Tripolis"], ["de", "fr"])
    assert [cid for cid, _ in index.search("Tripolis", 5, "fr")] == ["fr"]


def test_a_clear_keyword_match_settles_a_close_dense_race() -> None:
    dense = {"a": 0.81, "b": 0.80, "c": 0.60}
    assert fuse(dense, [({"b": 12.0, "a": 1.0}, 0.5)], None, 3) == ["b", "a", "c"]


def test_a_keyword_match_does_not_overturn_a_clear_dense_winner() -> None:
    dense = {"a": 0.90, "b": 0.70, "c": 0.60}
    assert fuse(dense, [({"b": 3.0}, 0.5)], None, 3)[0] == "a"
    assert fuse(dense, [], None, 2) == ["a", "b"]


def test_recency_breaks_ties_and_undated_passages_sit_in_the_middle() -> None:
    dense = {"old": 0.8, "new": 0.8, "undated": 0.8, "off-topic": 0.2}
    ranks = {"new": 0.0, "old": 2.0, "undated": 1.0, "off-topic": 1.0}
    assert fuse(dense, [], (ranks, 0.2), 4) == ["new", "undated", "old", "off-topic"]


def test_fake_llm_a_translation_after_a_preamble_line_is_the_one_searched() -> None:
    """Asked to put an Italian question into French, the local model wrote "Qui est la traduction en
    français :" and the translation after it; the preamble was searched, and pushed the passage with
    the answer out of the four the model reads."""
    from retrieval.prompt_templates import PromptLibrary
    from retrieval.query_enhancement import LLMTranslator
    from tests.fakes import FakeScriptedLLM

    llm = FakeScriptedLLM(translation="Qui est la traduction en français :\n\nQui est l'envoyé spécial de l'ONU "
                                      "en Libye ?\n\nCette question est en italien.")
    translate = LLMTranslator(llm, PromptLibrary())
    french = translate("Chi è l'inviato speciale dell'ONU in Libia?", "fr")
    assert french == "Qui est l'envoyé spécial de l'ONU en Libye ?"
    plain = LLMTranslator(FakeScriptedLLM(translation="Qui dirige le gouvernement ?\nNote : traduit de l'anglais."),
                          PromptLibrary())
    assert plain("Who leads the government?", "fr") == "Qui dirige le gouvernement ?"  # the notes after it unread
    colon = LLMTranslator(FakeScriptedLLM(translation="Voici les faits clés sur Palu :\nNote : traduit."),
                          PromptLibrary())
    assert colon("Here are the key facts about Palu:", "fr") == "Voici les faits clés sur Palu :"  # its own colon
