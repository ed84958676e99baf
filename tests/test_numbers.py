"""How numbers in answers are read and written (no model involved)."""

from __future__ import annotations

import pytest

from retrieval.numbers import hedged_as_in, numbers_in, spelled_as_in

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


NEWS = ("Indonésie : le bilan des victimes du tsunami s'alourdit, on compte plus de 800 morts.\n"
        "Les Etats-Unis ont l'intention d'envoyer une vingtaine de soldats en Libye, pour au moins 3 mois.")


@pytest.mark.parametrize(("answer", "lang", "expected"), [
    # seen over the samples: "800 people died in the Indonesian tsunami. [1]"
    ("800 people died in the tsunami [1].", "en", "More than 800 people died in the tsunami [1]."),
    ("The United States will send 20 soldiers [1].", "en", "The United States will send about 20 soldiers [1]."),
    ("They stay for three months [1].", "en", "They stay for at least three months [1]."),
    ("Se cuentan 800 muertos [1].", "es", "Se cuentan más de 800 muertos [1]."),
    # seen: "Secondo un articolo del 2 ottobre 2018, 800 persone sono morte nello tsunami"
    ("800 persone sono morte nello tsunami [1].", "it", "Più di 800 persone sono morte nello tsunami [1]."),
    ("Os Estados Unidos vão enviar 20 soldados [1].", "pt", "Os Estados Unidos vão enviar cerca de 20 soldados [1]."),
    # left alone: hedged already, in any words; a number the passages do not hedge; a language without words
    ("Over 800 people died [1].", "en", "Over 800 people died [1]."),
    ("Nearly 800 people died [1].", "en", "Nearly 800 people died [1]."),
    ("It was in 2016 [1].", "en", "It was in 2016 [1]."),
    ("800 people died [1].", "ja", "800 people died [1]."),
])
def test_a_number_the_article_hedges_stays_hedged(answer: str, lang: str, expected: str) -> None:
    assert hedged_as_in(answer, NEWS, lang) == expected


def test_an_italian_or_portuguese_passage_s_bound_is_read() -> None:
    assert hedged_as_in("800 people died [1].", "Lo tsunami ha fatto più di 800 morti.", "en") == \
        "More than 800 people died [1]."
    assert hedged_as_in("800 people died [1].", "O tsunami deixou pelo menos 800 mortos.", "en") == \
        "At least 800 people died [1]."


def test_a_number_also_stated_plainly_or_over_a_time_is_not_hedged() -> None:
    assert hedged_as_in("800 people died [1].", NEWS + " Les 800 victimes ont été enterrées.", "en") == \
        "800 people died [1]."
    assert hedged_as_in("It took 3 days [1].", "The talks went on over 3 days.", "en") == "It took 3 days [1]."
    assert hedged_as_in("She won the 100 metres [1].", "She won a fast 100 metres.", "en") == \
        "She won the 100 metres [1]."
    assert hedged_as_in("Es starben 800 Menschen [1].", "More than 800 people died.", "de") == \
        "Es starben mehr als 800 Menschen [1]."


def test_a_number_a_verb_puts_a_floor_under_stays_hedged() -> None:
    assert hedged_as_in("The unemployment rate is 20% [1].", "Le taux de chômage dépasse les 20 %.", "en") == \
        "The unemployment rate is more than 20% [1]."
    assert hedged_as_in("El paro es de 20% [1].", "Unemployment exceeds 20%.", "es") == "El paro es de más de 20% [1]."
