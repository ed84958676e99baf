"""Who wrote an article, when it was published: answered from the article's record, the model only
judging which article is meant. The store, the embedding model and HTML extraction are real; the
LLM's replies are scripted (``fake_llm`` in the names), so a wrong answer by the model would show."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from retrieval.bylines import asked_field
from retrieval.loading import load_html
from tests.conftest import SAMPLE
from tests.fakes import FakeScriptedLLM

# A news page as one comes: a byline in the article, a date in its metadata, menus around it.
PAGE = """<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8">
<title>Hochwasser in Sachsen: Pegel der Elbe sinkt | Beispiel-Zeitung</title>
<meta property="og:title" content="Hochwasser in Sachsen: Pegel der Elbe sinkt">
<meta property="article:published_time" content="2024-06-05T08:30:00+02:00"></head>
<body><nav><ul><li><a href="/">Startseite</a></li><li><a href="/politik">Politik</a></li></ul></nav>
<article><h1>Hochwasser in Sachsen: Pegel der Elbe sinkt</h1>
<p class="byline">Von Anna Schmidt, 5. Juni 2024</p>
<p>Nach tagelangem Regen ist der Pegel der Elbe in Dresden am Mittwoch erstmals wieder gesunken. Am Morgen
wurden 6,12 Meter gemessen, nachdem der Fluss am Dienstagabend mit 6,45 Metern seinen Höchststand erreicht hatte.</p>
<p>Die Stadt Dresden hatte am Montag die Alarmstufe 3 ausgerufen. Rund 1.200 Einsatzkräfte von Feuerwehr und
Technischem Hilfswerk waren im Einsatz, um Deiche zu sichern und Sandsäcke zu verteilen.</p>
</article><footer>© 2024 Beispiel-Zeitung. Impressum.</footer></body></html>"""
TITLE = "Hochwasser in Sachsen: Pegel der Elbe sinkt"


@pytest.mark.parametrize(("question", "field"), [
    ("Who wrote the article about the Elbe flood?", "author"),
    ("Who is the author of the story on the floods?", "author"),
    ("Qui a écrit l'article sur la crue de l'Elbe ?", "author"),
    ("¿Quién escribió el artículo sobre la inundación?", "author"),
    ("Wer hat den Artikel über das Hochwasser geschrieben?", "author"),
    ("When was the article about the Elbe flood published?", "date"),
    ("Quand l'article sur la crue a-t-il été publié ?", "date"),
    ("Wann wurde der Artikel über das Hochwasser veröffentlicht?", "date"),
    # questions about the news, not about an article
    ("Who wrote the Harry Potter books?", ""),
    ("Who is the author of the new law?", ""),
    ("When did the Elbe start to fall?", ""),
    ("Which article was published on 5 June?", ""),
])
def test_a_question_about_an_article_s_author_or_date_is_told_apart(question: str, field: str) -> None:
    assert asked_field(question) == field


def test_the_byline_of_a_news_page_is_kept_as_its_author() -> None:
    article = load_html(PAGE, "elbe.html", url="https://zeitung.example/elbe")
    assert article.extra["author"] == "Anna Schmidt" and article.date == "2024-06-05"
    assert "Anna Schmidt" not in article.text  # kept apart from the text: no passage would hold it


@pytest.fixture
def news_engine(make_engine):  # type: ignore[no-untyped-def]
    """The sample (no byline) and the flood page; the model's reply names a man the article quotes."""
    def build(**fake: object):  # type: ignore[no-untyped-def]
        engine = make_engine(llm=FakeScriptedLLM(reply="Dirk Hilbert wrote it [1].", **fake))
        engine.ingest_paths([SAMPLE])
        engine.ingest_articles([load_html(PAGE, "elbe.html", url="https://zeitung.example/elbe")])
        return engine

    return build


@pytest.mark.parametrize(("question", "answer"), [
    ("Who wrote the article about the Elbe flood?", f'The article "{TITLE}" was written by Anna Schmidt. [1]'),
    ("Wer hat den Artikel über das Hochwasser in Dresden geschrieben?",
     f"Der Artikel „{TITLE}“ wurde von Anna Schmidt geschrieben. [1]"),
    ("Quand l'article sur la crue de l'Elbe à Dresde a-t-il été publié ?",
     f"L'article « {TITLE} » a été publié le 5 juin 2024. [1]"),
])
def test_fake_llm_author_and_date_come_from_the_article_s_record(news_engine, question: str, answer: str) -> None:  # type: ignore[no-untyped-def]
    result = news_engine().ask(question)
    assert result.answer == answer, result.reason
    assert [s.url for s in result.sources] == ["https://zeitung.example/elbe"]
    assert result.sources[0].author == "Anna Schmidt" and result.sources[0].as_json()["author"] == "Anna Schmidt"


def test_fake_llm_discord_sources_name_the_author(news_engine) -> None:  # type: ignore[no-untyped-def]
    from bot.discord.formatting import render_answer

    rendered = render_answer(news_engine().ask("Who wrote the article about the Elbe flood?"))
    assert f"[1] **{TITLE}** (2024-06-05, Anna Schmidt) — <https://zeitung.example/elbe>" in rendered


def test_fake_llm_an_article_without_a_byline_gets_a_refusal_not_the_model_s_guess(news_engine) -> None:  # type: ignore[no-untyped-def]
    """Over an article with no author on record, the local model named a man the article quotes."""
    result = news_engine().ask("Who wrote the article about the unity government in Libya?")
    assert result.abstained and result.sources == []
    assert result.reason == "no article the question means has its author on record"


def test_fake_llm_the_byline_of_an_article_the_question_does_not_mean_is_not_given(news_engine) -> None:  # type: ignore[no-untyped-def]
    def no_article_is_meant(prompt: str) -> str:
        return "No" if prompt.startswith("Article:") else "Yes"

    result = news_engine(verdict=no_article_is_meant).ask("Who wrote the article about the Elbe flood?")
    assert result.abstained and "Anna Schmidt" not in result.answer
    assert result.checks["article"] == [0.0]


def test_cli_sources_name_the_author(cli_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "elbe.html"
    page.write_text(PAGE, encoding="utf-8")
    env = {**cli_env, "ARTICLEBOT_LLM_BACKEND": "extractive"}
    run = [sys.executable, "-m", "bot.cli"]
    subprocess.run([*run, "ingest", str(page)], env=env, check=True, capture_output=True)
    shown = subprocess.run([*run, "ask", "Wann wurde der Artikel über das Hochwasser veröffentlicht?", "--json"],
                           env=env, check=True, capture_output=True, text=True)
    answer = json.loads(shown.stdout)
    assert answer["answer"] == f"Der Artikel „{TITLE}“ erschien am 5. Juni 2024. [1]"
    assert answer["sources"][0]["author"] == "Anna Schmidt"
    printed = subprocess.run([*run, "ask", "Wer hat den Artikel über das Hochwasser geschrieben?"],
                             env=env, check=True, capture_output=True, text=True).stdout
    assert printed.startswith(f"Der Artikel „{TITLE}“ wurde von Anna Schmidt geschrieben. [1]")
    assert f"[1] {TITLE}, 2024-06-05, Anna Schmidt — " in printed
