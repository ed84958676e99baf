"""How numbers in answers are read and written (no model involved)."""

from __future__ import annotations

import pytest

from retrieval.numbers import numbers_in, spelled_as_in

PASSAGE = "Los Panthers, con cuatro jugadores en la Pro Bowl, cedieron solo 308 puntos y forzaron 3 balones sueltos."


@pytest.mark.parametrize(("answer", "lang", "expected"), [
    ("Ils avaient 4 joueurs au Pro Bowl [1].", "fr", "Ils avaient quatre joueurs au Pro Bowl [1]."),
    ("Ils ont forcé 3 ballons et cédé 308 points [1].", "fr", "Ils ont forcé 3 ballons et cédé 308 points [1]."),
    ("Los Panthers tenían 4 jugadores y forzaron 3 balones [1].", "es",
     "Los Panthers tenían cuatro jugadores y forzaron 3 balones [1]."),
    ("They had 4 players [1].", "ja", "They had 4 players [1]."),
])
def test_a_small_number_keeps_the_form_the_article_gave_it(answer: str, lang: str, expected: str) -> None:
    assert spelled_as_in(answer, PASSAGE, lang) == expected


@pytest.mark.parametrize(("answer", "expected"), [
    ("They had 4 Pro Bowl players [1].", "They had four Pro Bowl players [1]."),
    ("4 players made the Pro Bowl [1].", "Four players made the Pro Bowl [1]."),
    # the article writes 3, English prose still spells it; 308 and 10 are figures in English too
    ("They forced 3 fumbles, gave up 308 points and had 10 sacks [1].",
     "They forced three fumbles, gave up 308 points and had 10 sacks [1]."),
    ("In 5 years [1].", "In five years [1]."),
])
def test_an_english_answer_spells_out_two_to_nine_as_english_prose_does(answer: str, expected: str) -> None:
    assert spelled_as_in(answer, PASSAGE, "en") == expected


@pytest.mark.parametrize("answer", [
    "At 4:30, 4.5 yards, 4%, the 4th game [1].",
    "A 4-3 win [1].",
    "It is 5 km long, 3 m² wide and 4 °C warm [1].",
    "Apollo 8 flew on March 4 at 9 a.m. [1].",
    "Chapter 3 cost $5 million [1].",
    "They had 308 points [1][2].",  # citations are no numbers of the answer
])
def test_figures_english_writes_as_figures_stay_figures(answer: str) -> None:
    assert spelled_as_in(answer, PASSAGE, "en") == answer


def test_number_words_of_each_language_are_read_as_numbers() -> None:
    assert numbers_in("cuatro, vier, quatre, four, fünf, dix-sept, twenty-two") == {4, 5, 17, 22}
