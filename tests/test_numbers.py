"""How numbers in answers are read and written (no model involved)."""

from __future__ import annotations

import pytest

from retrieval.numbers import numbers_in, spelled_as_in

PASSAGE = "Los Panthers, con cuatro jugadores en la Pro Bowl, cedieron solo 308 puntos y forzaron 3 balones sueltos."


@pytest.mark.parametrize(("answer", "lang", "expected"), [
    ("They had 4 Pro Bowl players [1].", "en", "They had four Pro Bowl players [1]."),
    ("4 players made the Pro Bowl [1].", "en", "Four players made the Pro Bowl [1]."),
    ("Ils avaient 4 joueurs au Pro Bowl [1].", "fr", "Ils avaient quatre joueurs au Pro Bowl [1]."),
    ("They forced 3 fumbles and gave up 308 points [1].", "en", "They forced 3 fumbles and gave up 308 points [1]."),
    ("At 4:30, 4.5 yards, 4%, the 4th game [1].", "en", "At 4:30, 4.5 yards, 4%, the 4th game [1]."),
    ("A 4-3 win [1].", "en", "A 4-3 win [1]."),
    ("They had 4 players [1].", "ja", "They had 4 players [1]."),
])
def test_a_small_number_keeps_the_form_the_article_gave_it(answer: str, lang: str, expected: str) -> None:
    assert spelled_as_in(answer, PASSAGE, lang) == expected


def test_number_words_of_each_language_are_read_as_numbers() -> None:
    assert numbers_in("cuatro, vier, quatre, four, fünf, dix-sept, twenty-two") == {4, 5, 17, 22}
