""""What's new?" answered with the newest articles on record, and "Tell me more about the second one."
answered from that article. The store and the embedding model are real; where a model answers, its
replies are scripted (``fake_llm`` in the names)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from retrieval.documents import Article
from retrieval.latest import asks_whats_new, latest_list, with_listed_article, without_article_named
from retrieval.store import Hit
from tests.conftest import REPO
from tests.fakes import FakeScriptedLLM

NEWS = [json.loads(line)
        for line in (REPO / "samples" / "ntrex-news-fr.jsonl").read_text(encoding="utf-8").splitlines()]
# Published on different days, in an order unlike the file's, the last one without a date.
DATES = ["2018-10-02", "2018-10-05", "2018-10-01", "2018-10-04", ""]


def article(n: int, date: str) -> Article:
    record = NEWS[n]
    return Article(id=record["doc_id"], title=record["title"], text=record["text"][:700], source=f"news.jsonl:{n + 1}",
                   date=date, lang="fr")


@pytest.fixture
def newsroom(make_engine):  # type: ignore[no-untyped-def]
    """Five articles in the default collection, a sixth, the newest, in another server's."""
    def build(llm: Any = None, **overrides: Any):  # type: ignore[no-untyped-def]
        engine = make_engine(llm=llm, **overrides)
        engine.ingest_articles([article(n, date) for n, date in enumerate(DATES)])
        engine.ingest_articles([article(5, "2018-10-06")], collection="other-server")
        return engine

    return build


def title(n: int) -> str:
    return str(NEWS[n]["title"])


@pytest.mark.parametrize("question", [
    "What's new?", "what's the latest news?", "Any news?", "What are the latest headlines?", "Latest news, please",
    "Hi, what's new today?", "Quoi de neuf ?", "Quelles sont les dernières nouvelles ?", "¿Qué hay de nuevo?",
    "Últimas noticias", "Was gibt's Neues?", "Die neuesten Nachrichten", "Che novità ci sono?", "O que há de novo?",
    "What are the latest developments?", "What happened today?", "Que se passe-t-il ?", "¿Qué está pasando?",
    "Was ist los?",
])
def test_a_question_for_the_news_in_general_is_told_apart(question: str) -> None:
    assert asks_whats_new(question)


@pytest.mark.parametrize("question", [
    "What's the latest news about Macedonia?", "What's new in Libya?", "What is the new name of Macedonia?",
    "Quoi de neuf en Libye ?", "What are the latest figures on HIV in China?", "Was gibt es Neues aus Dresden?",
    "What are the new rules?", "Who won?", "What happened in Palu?", "What happened to the referendum?",
    "Que s'est-il passé à Sotchi ?", "Was ist in Dresden passiert?",
])
def test_a_question_about_a_subject_is_not_read_as_one_for_the_news_in_general(question: str) -> None:
    assert not asks_whats_new(question)


def test_whats_new_lists_the_newest_articles_of_the_collection_newest_first(newsroom) -> None:  # type: ignore[no-untyped-def]
    engine = newsroom()
    answer = engine.ask("What's new?", k=3)
    # The undated article was ingested today: newer than any dated 2018.
    assert answer.answer == "\n".join([
        "The latest articles:", f'- "{title(4)}" [1]', f'- "{title(1)}", 5 October 2018 [2]',
        f'- "{title(3)}", 4 October 2018 [3]'])
    assert [s.id for s in answer.sources] == [NEWS[n]["doc_id"] for n in (4, 1, 3)]
    assert not answer.abstained and answer.reason == ""
    # The other server's newest article is not among them; asked of both collections, it comes next.
    both = engine.ask("Quoi de neuf ?", collections=["default", "other-server"], k=2)
    assert both.answer.splitlines() == ["Les derniers articles :", f"- « {title(4)} » [1]",
                                        f"- « {title(5)} », 6 octobre 2018 [2]"]


def test_whats_new_keeps_to_the_period_asked_for(newsroom) -> None:  # type: ignore[no-untyped-def]
    engine = newsroom()
    answer = engine.ask("Was gibt es Neues?", since="2018-10-01", until="2018-10-02")
    assert answer.answer.splitlines() == ["Die neuesten Artikel:", f"- „{title(0)}“, 2. Oktober 2018 [1]",
                                          f"- „{title(2)}“, 1. Oktober 2018 [2]"]
    nothing = engine.ask("Any news?", since="2019-01-01")
    assert nothing.abstained and nothing.sources == []
    assert nothing.reason.startswith("no article was published in that period")


def test_fake_llm_whats_new_is_answered_from_the_records_without_the_model(newsroom) -> None:  # type: ignore[no-untyped-def]
    """Asked of four passages, the model called one article the latest news and another a change of it."""
    llm = FakeScriptedLLM(reply="The latest news is that Macedonia votes [1]. This changed [2].")
    llm.calls = []
    answer = newsroom(llm=llm).ask("What's the latest news?", k=2)
    assert answer.answer.splitlines()[0] == "The latest articles:" and "Macedonia votes" not in answer.answer
    assert llm.calls == []


LISTING = "\n".join(["The latest articles:", f'- "{title(1)}", 5 October 2018 [1]',
                     f'- "{title(3)}", 4 October 2018 [2]', f'- "{title(0)}", 2 October 2018 [3]'])


@pytest.mark.parametrize(("question", "lang", "meant"), [
    ("Tell me more about the second one.", "en", f'Tell me more about the article "{title(3)}".'),
    ("What does the last article say?", "en", f'What does the article "{title(0)}" say?'),
    ("What about [1]?", "en", f'What about the article "{title(1)}"?'),
    ("Parle-moi du deuxième article.", "fr", f"Parle-moi de l'article « {title(3)} »."),
    ("Et le dernier ?", "fr", f"Et l'article « {title(0)} » ?"),
    ("Was steht im dritten Artikel?", "de", f"Was steht im Artikel „{title(0)}“?"),
    ("¿Qué dice el primero?", "es", f"¿Qué dice el artículo «{title(1)}»?"),
    # questions of the news, or of an item the list does not have
    ("Who came second?", "en", ""),
    ("Who won the second round?", "en", ""),
    ("What does the fifth one say?", "en", ""),
])
def test_a_follow_up_names_the_listed_article_it_means(question: str, lang: str, meant: str) -> None:
    assert with_listed_article(question, LISTING, lang)[0] == meant


def test_a_follow_up_to_an_answer_that_lists_nothing_names_no_article() -> None:
    assert with_listed_article("Tell me more about the second one.", "Fayez al-Serraj leads it. [1]", "en") == ("", "")


def test_the_listing_reads_back_as_its_headlines_in_every_language() -> None:
    hits = [Hit(id=str(n), text="", metadata={"title": title(n), "date": "2018-10-0" + str(n + 1)}, score=0.0,
                collection="default") for n in (0, 1)]
    for lang in ("en", "fr", "es", "de", "it", "pt"):
        assert with_listed_article("the last one", latest_list(hits, lang), lang)[1] == title(1)


def test_fake_llm_tell_me_more_about_the_second_one_is_answered_from_that_article(newsroom) -> None:  # type: ignore[no-untyped-def]
    """The condensing model turned this follow-up into "What's new?", which listed the articles again."""
    def reply(prompt: str) -> str:
        if prompt.startswith("Conversation:"):
            return "What's new?"
        return "North Korea will not disarm until it trusts the United States, in the article. [1]"

    llm = FakeScriptedLLM(reply=reply)
    llm.calls = []
    engine = newsroom(llm=llm)
    answer = engine.ask("Tell me more about the second one.", history=[("What's new?", LISTING)])
    assert answer.standalone_question == f'Tell me more about the article "{title(3)}".'
    assert answer.answer.endswith("North Korea will not disarm until it trusts the United States. [1]")
    assert {s.id for s in answer.sources} == {NEWS[3]["doc_id"]}
    drafted = [c for c in llm.calls if c.startswith("Excerpts:")]
    assert drafted and all(title(1) not in c and title(0) not in c for c in drafted)


def test_fake_llm_the_named_article_is_read_though_the_judge_finds_no_passage_answers(newsroom) -> None:  # type: ignore[no-untyped-def]
    """Over the real model the judge said no to every passage for "Parle-moi de l'article « … »"."""
    llm = FakeScriptedLLM(reply="Ri Yong Ho a parlé à l'ONU. [1]",
                          verdict=lambda prompt: "No" if prompt.startswith("Passage:") else "Yes")
    answer = newsroom(llm=llm).ask("Parle-moi du deuxième article.", history=[("Quoi de neuf ?", LISTING)])
    assert answer.answer.endswith("Ri Yong Ho a parlé à l'ONU. [1]"), answer.reason
    assert {s.id for s in answer.sources} == {NEWS[3]["doc_id"]} and answer.checks["judge"][0] == 0.0
    engine = newsroom(llm=llm)
    engine.remove_source(NEWS[3]["doc_id"])
    gone = engine.ask("Parle-moi du deuxième article.", history=[("Quoi de neuf ?", LISTING)])
    assert gone.abstained and gone.reason == "the article the question names is no longer on record"
    unnamed = newsroom(llm=llm).ask("Parle-moi de la Corée du Nord.", history=[("Quoi de neuf ?", LISTING)])
    assert unnamed.abstained  # a question that names no listed article still needs the judge's yes


def test_fake_llm_a_follow_up_with_its_own_subject_is_not_turned_into_whats_new(newsroom) -> None:  # type: ignore[no-untyped-def]
    def reply(prompt: str) -> str:
        return "What's new?" if prompt.startswith("Conversation:") else "Ri Yong Ho spoke at the UN. [1]"

    answer = newsroom(llm=FakeScriptedLLM(reply=reply)).ask(
        "Tell me more about the North Korea story", history=[("What's new?", LISTING)])
    assert answer.standalone_question == "Tell me more about the North Korea story"
    assert not answer.answer.startswith("The latest articles")


@pytest.mark.parametrize(("answer", "kept"), [
    ("Lewis Hamilton won the race in the article. [1]", "Lewis Hamilton won the race. [1]"),
    ('Lewis Hamilton venceu a corrida no artigo "Grand Prix". [1]', "Lewis Hamilton venceu a corrida. [1]"),
    ("The article says Hamilton won. [1]", "The article says Hamilton won. [1]"),
    ("He won in the article about the race. [1]", "He won in the article about the race. [1]"),
])
def test_the_question_s_own_in_the_article_leaves_the_answer(answer: str, kept: str) -> None:
    assert without_article_named(answer, "Grand Prix") == kept
