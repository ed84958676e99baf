"""Questions about an article itself — who wrote it, when it was published — answered from what
ingestion recorded (the page's byline and date), not by the model: a passage seldom holds its own
byline (extraction keeps it apart, as metadata), and the small local model, shown none, refuses or
guesses. The model only judges which article the question means (``prompts/about.toml``)."""

from __future__ import annotations

import re

from retrieval.dates import asks_when, spoken_date
from retrieval.keyword import fold

# The question must name the article itself: "Who wrote the Harry Potter books?" asks of the news.
_ARTICLE = re.compile(r"\b(articles?|story|stories|piece|artikels?|articulos?|noticias?|beitrags?)\b")
_WROTE = re.compile(
    r"\bwho (wrote|writes|has written|authored|penned|signed)\b|\b(author|authors|writer|byline)\b"
    r"|\bqui (a|l'a) (ecrit|redige|signe)\b|\b(auteur|auteure|autrice|signataire)\b"
    r"|\bquien (escribio|redacto|firmo|firma|ha escrito)\b|\b(autor|autora|autorin|verfasser|verfasserin)\b"
    r"|\bwer\b.*\b(geschrieben|verfasst|schrieb|verfasste)\b")
_PUBLISHED = re.compile(r"\b(published|publication|dated|publie|publiee|publicado|publicada|publico"
                        r"|publicacion|veroffentlicht|veroffentlichung|erschienen|erschien)\b")
_DATE_WORD = re.compile(r"\b(what|which) (date|day)\b|\bquelle date\b|\bque fecha\b|\ban welchem tag\b|\bdatum\b")

_WRITTEN_BY = {
    "en": 'The article "{title}" was written by {value}.',
    "fr": "L'article « {title} » a été écrit par {value}.",
    "es": "El artículo «{title}» fue escrito por {value}.",
    "de": "Der Artikel „{title}“ wurde von {value} geschrieben.",
}
_PUBLISHED_ON = {
    "en": 'The article "{title}" was published on {value}.',
    "fr": "L'article « {title} » a été publié le {value}.",
    "es": "El artículo «{title}» se publicó el {value}.",
    "de": "Der Artikel „{title}“ erschien am {value}.",
}


def asked_field(question: str) -> str:
    """``"author"`` when the question asks who wrote an article, ``"date"`` when it asks when one was
    published, else ``""``: the metadata field that answers it."""
    folded = fold(question)
    if not _ARTICLE.search(folded):
        return ""
    if _WROTE.search(folded):
        return "author"
    if _PUBLISHED.search(folded) and (asks_when(question) or _DATE_WORD.search(folded)):
        return "date"
    return ""


def about_article(field: str, title: str, value: str, lang: str) -> str:
    """The answer in the question's language (English where none is written here): the article's
    headline, so the reader sees which article was meant, and the field's value."""
    if field == "date":
        return _PUBLISHED_ON.get(lang, _PUBLISHED_ON["en"]).format(
            title=title, value=spoken_date(value, lang if lang in _PUBLISHED_ON else "en"))
    return _WRITTEN_BY.get(lang, _WRITTEN_BY["en"]).format(title=title, value=value)
