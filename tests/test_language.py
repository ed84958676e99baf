"""Which language a text is in, and which words of an answer were left in the article's language."""

from __future__ import annotations

import pytest

from retrieval.language import detect_language, untranslated_words

CTENOFOROS = ("Los ctenóforos no son monofiléticos según el estudio de Kuechly, y sus parientes más "
              "cercanos siguen en discusión.")


def test_a_rare_accented_word_is_caught_and_a_name_neither_language_knows_is_not() -> None:
    answer = "Kuechly found that the ctenóforos are not monophyletic [1]."
    assert untranslated_words(answer, CTENOFOROS, "What did the study find?", "en", "es") == ["ctenóforos"]


def test_words_the_question_uses_are_never_counted() -> None:
    answer = "The ctenóforos are not monophyletic [1]."
    assert untranslated_words(answer, CTENOFOROS, "Are the ctenóforos monophyletic?", "en", "es") == []


def test_without_word_lists_for_the_language_a_run_of_copied_words_still_counts() -> None:
    basque = "Trenbide estuak eremu menditsuetan eraiki ziren Victorian."
    answer = "They were built in eremu menditsuetan [1], in Victoria."
    assert untranslated_words(answer, basque, "Where were the lines built?", "en", "eu") == ["eremu", "menditsuetan"]


def test_an_answer_in_chinese_is_checked_without_word_lists_instead_of_failing() -> None:
    # wordfreq needs jieba for Chinese, which is not installed: the check must not raise
    english = "The unity government is led by Fayez al-Serraj, who arrived in Tripoli by sea."
    assert untranslated_words("民族团结政府由 Fayez al-Serraj 领导 [1]。", english, "谁领导民族团结政府？",
                              "zh", "en") == []


def test_letters_of_a_script_the_question_does_not_use_are_untranslated() -> None:
    chinese = "利比亚民族团结政府总理法耶兹·萨拉杰周三抵达首都的黎波里，并在一座海军基地设立办公室。"
    answer = "The unity government is led by the Libyan National团结 Government (LNG)总理, Fayez Sallaji. [1]"
    assert untranslated_words(answer, chinese, "who leads the unity government?", "en", "zh") == ["团结", "总理"]
    assert untranslated_words("Le maire de Москва a parlé.", "Мэр Москва сказал", "Qui a parlé ?", "fr", "ru") == [
        "Москва"]
    assert untranslated_words("萨拉杰在的黎波里设立办公室。", chinese, "萨拉杰在哪里设立办公室？", "zh", "zh") == []


@pytest.mark.parametrize(("question", "lang"), [
    ("a quel continent appartient le Bresil?", "fr"),  # no language was sure of it: English by default
    ("wer hat gewonnen?", "de"),  # Luxembourgish
    ("Another black person?!", "en"),  # Nigerian Pidgin
    ("Qui contrôle l'industrie forestière ?", "fr"),  # Venetian
    ("Hver leiðir einingarstjórnina í Líbíu?", "is"),  # a less common language still stands
    ("Pwy sy'n arwain y llywodraeth?", "cy"),
])
def test_a_short_question_is_read_in_the_widely_written_language_it_is_in(question: str, lang: str) -> None:
    assert detect_language(question, default="en") == lang


def test_an_article_long_enough_to_tell_keeps_the_full_range_of_languages() -> None:
    luxembourgish = ("D'Regierung huet haut matgedeelt, datt d'Schoule fir eng Woch zou bleiwen, well vill "
                     "Kanner an Enseignanten krank sinn. D'Eltere gi gebieden, hir Kanner doheem ze halen. "
                     "Den Ausfall vun de Bussen gëtt och nach bis e Freideg verlängert.")
    assert detect_language(luxembourgish) == "lb"
