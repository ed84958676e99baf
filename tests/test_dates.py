"""News awareness: publication dates kept, newest first, time filters, dates in answers and sources.

Small articles written for the test, in their own language, that contradict each other over time.
The fake LLM (named so) answers from the first excerpt it is shown, as a faithful model would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.discord.formatting import render_answer
from retrieval.dates import normalize_date, on_one_of, period_in_question, without_dates
from retrieval.errors import BadInputError
from tests.fakes import FakeScriptedLLM

ARTICLES = [
    {"doc_id": "2016", "date": "2016-06-24", "title": "Libye : le gouvernement d'union s'installe",
     "text": "Le chef du gouvernement libyen d'union nationale est Fayez al-Serraj. Son gouvernement s'est "
             "installé à Tripoli dans une base navale, avec le soutien des Nations unies.", "lang": "fr"},
    {"doc_id": "2021", "date": "Wed, 10 Mar 2021 12:00:00 GMT", "title": "Libye : un nouveau gouvernement d'unité",
     "text": "Le chef du gouvernement libyen d'unité nationale est désormais Abdel Hamid Dbeibah. Le Parlement "
             "a approuvé son gouvernement, qui remplace celui de Fayez al-Serraj.", "lang": "fr"},
    {"doc_id": "undated", "title": "Libye : portrait d'un négociateur",
     "text": "Le gouvernement libyen a longtemps compté sur Ahmed Maiteeg, vice-président du conseil présidentiel, "
             "pour négocier avec l'est du pays et le gouvernement de Tobrouk.", "lang": "fr"},
]
QUESTION = "Who leads the Libyan unity government?"


def first_excerpt_answer(prompt: str) -> str:
    """Answers with the leader named in excerpt [1]."""
    first = prompt.split("[2]")[0]
    for name in ("Abdel Hamid Dbeibah", "Fayez al-Serraj", "Ahmed Maiteeg"):
        if name in first:
            return f"{name} leads it [1]."
    return "NOT_IN_ARTICLES"


@pytest.fixture
def engine(make_engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "libye.jsonl"
    path.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in ARTICLES), encoding="utf-8")
    engine = make_engine(llm=FakeScriptedLLM(reply=first_excerpt_answer))
    engine.ingest_paths([path])
    engine.jsonl = path
    return engine


def test_dates_are_normalised_and_never_invented() -> None:
    assert normalize_date("Wed, 10 Mar 2021 12:00:00 GMT") == "2021-03-10"
    assert normalize_date("24 June 2016") == "2016-06-24"
    assert normalize_date("2016-06-24T10:00:00Z") == "2016-06-24"
    assert normalize_date("") == "" and normalize_date("sometime soon") == ""
    # A day without its year is no date to file an article under (it became 2000-03-24).
    assert normalize_date("24 March") == "" and normalize_date("24 mars") == ""


@pytest.mark.parametrize("written", ["24 juin 2016", "vendredi 24 juin 2016", "le 24 juin 2016 à 10h00",
                                     "24 de junio de 2016", "Freitag, 24. Juni 2016", "24 juin 2016, 14:32"])
def test_dates_written_in_french_spanish_or_german_are_read(written: str) -> None:
    assert normalize_date(written) == "2016-06-24"  # a --date, a front matter or a JSON record as people type it
    assert normalize_date("1er août 2016") == "2016-08-01" and normalize_date("24 févr. 2016") == "2016-02-24"


def test_fake_llm_newest_article_wins_and_the_answer_names_its_date(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask(QUESTION)
    assert answer.answer.startswith("According to an article of 10 March 2021, Abdel Hamid Dbeibah")
    assert answer.sources[0].date == "2021-03-10"
    # the older article also answers: the answer says that it changed, citing both
    assert "This changed: an earlier article, of 24 June 2016, said otherwise [2]." in answer.answer
    assert [(s.n, s.date) for s in answer.sources] == [(1, "2021-03-10"), (2, "2016-06-24")]


def test_fake_llm_the_date_is_named_in_the_questions_language(engine) -> None:  # type: ignore[no-untyped-def]
    """An Italian answer opened with "According to an article of 10 March 2021," in English."""
    italian = engine.ask("Chi guida il governo libico di unità nazionale?")
    assert italian.answer.startswith("Secondo un articolo del 10 marzo 2021, Abdel Hamid Dbeibah")
    assert "un articolo precedente, del 24 giugno 2016, diceva altro [2]." in italian.answer
    spanish = engine.ask("¿Quién dirige el gobierno libio de unidad nacional?")
    assert spanish.answer.startswith("Según un artículo del 10 de marzo de 2021, ")
    # a language without the sentence: the ISO day, not an English sentence inside a Polish answer
    polish = engine.ask("Kto kieruje libijskim rządem jedności narodowej?")
    assert polish.answer.startswith("(2021-03-10) Abdel Hamid Dbeibah")


def test_fake_llm_until_brings_back_the_older_answer(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask(QUESTION, until="2020-12-31")
    assert "Fayez al-Serraj" in answer.answer and "24 June 2016" in answer.answer
    assert {s.id for s in answer.sources} == {"2016"}
    newer = engine.ask(QUESTION, since="2021-01-01")
    assert {h.metadata["article_id"] for h in newer.retrieved} == {"2021"}


def test_fake_llm_a_question_naming_a_year_is_filtered_to_it(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("Who led the Libyan unity government in 2016?")
    assert "Fayez al-Serraj" in answer.answer
    assert all(h.metadata["article_id"] == "2016" for h in answer.retrieved)
    assert period_in_question("qui dirigeait le gouvernement en 2016 ?") == ("2016-01-01", "2016-12-31")


def test_undated_articles_are_neither_favoured_nor_dropped(engine) -> None:  # type: ignore[no-untyped-def]
    hits = engine.pipeline().search.search(QUESTION, ["default"], 10)
    assert "undated" in {h.metadata["article_id"] for h in hits}  # not dropped
    [undated] = [s for s in engine.sources() if s.id == "undated"]
    assert undated.date == ""  # never given today's date
    neutral = engine.pipeline().search.search("Ahmed Maiteeg négociateur", ["default"], 3)
    assert neutral[0].metadata["article_id"] == "undated"  # relevance still wins over recency


def test_the_date_survives_reingestion_and_appears_in_discord_sources(engine) -> None:  # type: ignore[no-untyped-def]
    engine.ingest_paths([engine.jsonl])
    assert {s.id: s.date for s in engine.sources()} == {"2016": "2016-06-24", "2021": "2021-03-10", "undated": ""}
    rendered = render_answer(engine.ask(QUESTION))
    assert re.search(r"\(2021-03-10\)", rendered)


def test_a_date_given_at_ingest_is_used(make_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "note.txt"
    path.write_text("Titre\n" + ARTICLES[2]["text"], encoding="utf-8")
    engine = make_engine(llm=None)
    engine.ingest_paths([path], date="2019-04-04")
    assert engine.sources()[0].date == "2019-04-04"
    with pytest.raises(BadInputError, match="cannot read the date"):
        engine.ingest_paths([path], date="yesterday-ish")
    with pytest.raises(BadInputError, match="cannot read the date"):
        engine.ask(QUESTION, since="not a date")


def test_fake_llm_a_swapped_or_empty_period_is_told_as_such(engine) -> None:  # type: ignore[no-untyped-def]
    """Swapped dates answered "the articles do not say", as if the articles had been searched."""
    with pytest.raises(BadInputError, match="since 2021-01-01 is after until 2016-12-31"):
        engine.ask(QUESTION, since="2021-01-01", until="2016-12-31")
    empty = engine.ask(QUESTION, since="2030-01-01")  # nothing dated then: the reason says so, not "not similar"
    assert empty.abstained and empty.reason.startswith("no article was published in that period")


@pytest.mark.parametrize(("text", "cut"), [
    ("The Elbe peaked at 6.45 m on June 4th, 2024, in Dresden [1].", "The Elbe peaked at 6.45 m in Dresden [1]."),
    ("On Tuesday, June 4, the Elbe peaked [1].", "The Elbe peaked [1]."),
    ("Le pic a été atteint le 4 juin 2024 à Dresde [1].", "Le pic a été atteint à Dresde [1]."),
    ("Der Pegel erreichte am 4. Juni seinen Höchststand [1].", "Der Pegel erreichte seinen Höchststand [1]."),
    ("El río creció el 4 de junio de 2024 [1].", "El río creció [1]."),
    # not dates: a count after a month's name, a month's name alone
    ("In June 4,000 people left [1].", "In June 4,000 people left [1]."),
    ("They left in June [1].", "They left in June [1]."),
])
def test_a_date_is_cut_with_the_words_that_place_something_at_it(text: str, cut: str) -> None:
    assert without_dates(text, lambda day: True) == cut


def test_only_the_chosen_dates_are_cut() -> None:
    text = "It rose on June 4 and fell on June 5, 2024 [1]."
    assert without_dates(text, lambda day: on_one_of(day, ["2024-06-05"])) == "It rose on June 4 and fell [1]."
