""""What's new?" — answered with the newest articles on record, not by search and the model: such a
question names no subject, so similarity search picks passages at random, and the model, shown four
of them, called one article "the latest news" and another, older one a change of it ("This changed:
an earlier article … said otherwise"). Which articles are newest is a fact of their records: their
publication dates (the day they were ingested where a page gave none).

A question that names a subject ("What's the latest on Macedonia?") is a question of the news and
goes to search; only the whole question, give or take politeness and a period, is read here."""

from __future__ import annotations

import re
from typing import Any

from retrieval.dates import spoken_date
from retrieval.keyword import fold
from retrieval.store import Hit, VectorStore

_LATEST = r"(latest|newest|most recent|recent|new|last)"
_NEWS_EN = r"(news|headlines?|stories|articles?|updates?|happenings|developments)"
_WHATS_NEW = re.compile(
    r"^(?:(?:hi|hello|hey)\s+)?(?:(?:please|pls)\s+)?(?:"
    # English
    rf"(?:what'?s|what is|what are|whats) (?:the )?(?:{_LATEST}(?: {_NEWS_EN})?|news|new|up|happening)"
    rf"|(?:any|anything) (?:news|new|{_LATEST} {_NEWS_EN})"
    rf"|(?:give me|tell me|show me|show|list|get me)(?: the)? (?:{_LATEST} )?{_NEWS_EN}"
    rf"|(?:the )?{_LATEST} {_NEWS_EN}|news|headlines"
    rf"|(?:what|which) (?:{_NEWS_EN} )?(?:is|are) (?:the )?{_LATEST}(?: {_NEWS_EN})?"
    r"|what'?s going on|what is going on|what happened|what has happened|anything happen(?:ed|ing)?"
    # French
    r"|quoi de (?:neuf|nouveau)|qu'?(?:est-ce qu'?il y a|y a-t-il) de (?:neuf|nouveau)"
    r"|(?:quelles sont |donne-moi |montre-moi )?les (?:dernieres|plus recentes) (?:nouvelles|actualites|actus|infos"
    r"|informations|articles)|(?:quelles|des) nouvelles|(?:quels sont )?les derniers articles"
    r"|dernieres (?:nouvelles|actualites|infos)|quelle est l'actualite|quelles sont les actualites"
    r"|que se passe-t-il|qu'est-ce qui se passe|que s'est-il passe|qu'est-ce qui s'est passe"
    # Spanish
    r"|que hay de nuevo|(?:cuales son )?las (?:ultimas|mas recientes) (?:noticias|novedades)"
    r"|ultimas noticias|(?:que|alguna|hay) novedad(?:es)?(?: hay)?|que novedades hay|que (?:esta )?pasa(?:ndo)?"
    r"|que ha pasado"
    # German
    r"|was gibt(?:'s| es) neues|was ist neu|gibt es (?:neuigkeiten|neues)"
    r"|(?:was sind )?die (?:neuesten|letzten|aktuellen) (?:nachrichten|meldungen|artikel|neuigkeiten)"
    r"|(?:neueste|letzte|aktuelle) (?:nachrichten|meldungen)|neuigkeiten|was ist (?:los|passiert)|was passiert"
    # Italian
    r"|(?:che|quali) novita(?: ci sono)?|cosa c'e di nuovo|(?:quali sono )?le ultime (?:notizie|novita)"
    r"|ultime notizie"
    # Portuguese
    r"|o que ha de novo|(?:quais sao )?as ultimas (?:noticias|novidades)|ultimas noticias|(?:quais sao )?as novidades"
    r"|alguma novidade"
    r")"
    # politeness, the articles themselves, a period (read by period_in_question as usual)
    r"(?: (?:in|from|of|among|dans|de|des|en|in den|nei|nos) (?:the |les |los |las |den |gli |os )?"
    r"(?:articles?|news|articulos|artikeln|articoli|artigos))?"
    r"(?: (?:today|this week|this month|lately|recently|aujourd'hui|cette semaine|hoy|esta semana|heute"
    r"|diese woche|oggi|hoje))?"
    r"(?: (?:please|s'il (?:te|vous) plait|por favor|bitte|per favore))?$")

_HEADING = {
    "en": "The latest articles:", "fr": "Les derniers articles :", "es": "Los últimos artículos:",
    "de": "Die neuesten Artikel:", "it": "Gli ultimi articoli:", "pt": "Os artigos mais recentes:",
}
_QUOTED = {"en": '"{}"', "fr": "« {} »", "es": "«{}»", "de": "„{}“", "it": "«{}»", "pt": '"{}"'}


def asks_whats_new(question: str) -> bool:
    """True when the question asks for the news in general, with no subject of its own."""
    words = " ".join(re.sub(r"[?!.,:;¿¡\"“”«»]", " ", fold(question).replace("’", "'")).split())
    return bool(words) and _WHATS_NEW.match(words) is not None


def _recency(hit: Hit) -> tuple[str, str]:
    meta = hit.metadata
    ingested = str(meta.get("ingested_at", ""))
    return str(meta.get("date") or ingested[:10]), ingested


def newest_articles(store: VectorStore, model_name: str, collections: list[str], n: int,
                    where: dict[str, Any] | None = None) -> list[Hit]:
    """The first passage of each of the ``n`` newest articles in the collections, newest first; an
    article stored in two of them (a server's own and the shared one) counts once."""
    with store.session():
        firsts = [hit for name in collections
                  for hit in store.first_chunks(store.collection(name, model_name), name, where)]
    newest: dict[str, Hit] = {}
    for hit in sorted(firsts, key=_recency, reverse=True):
        newest.setdefault(str(hit.metadata.get("article_id", hit.id)), hit)
    return list(newest.values())[:n]


def latest_list(hits: list[Hit], lang: str) -> str:
    """The answer: one line an article, its headline quoted, its date when known, its citation."""
    lang = lang if lang in _HEADING else "en"
    lines = [_HEADING[lang]]
    for n, hit in enumerate(hits, 1):
        title = str(hit.metadata.get("title", "")).strip() or str(hit.metadata.get("source", ""))
        date = str(hit.metadata.get("date", ""))
        when = f", {spoken_date(date, lang)}" if date else ""
        lines.append(f"- {_QUOTED[lang].format(title)}{when} [{n}]")
    return "\n".join(lines)


# A line of latest_list, in any of its languages: the headline between its quotes (read from _QUOTED,
# the longest first, so that "« " is not taken for "«"), then the date, then the citation.
_OPENERS, _CLOSERS = ("|".join(sorted({re.escape(q.split("{}")[i]) for q in _QUOTED.values()}, key=len, reverse=True))
                      for i in (0, 1))
_LISTED = re.compile(rf"^- (?:{_OPENERS})(?P<title>.+?)(?:{_CLOSERS})(?:, [^\[\]]+)? \[(?P<n>\d+)\]$", re.M)
_ORDINALS = {
    1: "first|1st|premier|premiere|primer|primero|primera|erste|ersten|erster|erstes|primo|prima|primeiro|primeira",
    2: "second|2nd|deuxieme|seconde|segundo|segunda|zweite|zweiten|zweiter|zweites|secondo|seconda",
    3: "third|3rd|troisieme|tercer|tercero|tercera|dritte|dritten|dritter|drittes|terzo|terza|terceiro|terceira",
    4: "fourth|4th|quatrieme|cuarto|cuarta|vierte|vierten|vierter|viertes|quarto|quarta",
    5: "fifth|5th|cinquieme|quinto|quinta|funfte|funften|funfter|funftes",
    -1: "last|dernier|derniere|ultimo|ultima|letzte|letzten|letzter|letztes",
}
_ORDINAL = "|".join(f"(?P<o{'_last' if n < 0 else n}>{words})" for n, words in _ORDINALS.items())
_ARTICLE_WORD = r"(?:one|article|story|headline|item|piece|link|titre|sujet|info|nouvelle|articulo|noticia|titular" \
                r"|artikel|meldung|nachricht|notizia|articolo|artigo)"
# "the second one", "le deuxième article", "del segundo", "zum dritten", "l'ultimo": a determiner, an
# ordinal, maybe a word for an article, then nothing more, a pause, or such a word. "Who came second?"
# and "the second round" are questions of the news. Or a citation, "[2]", "number 2", "#2".
_DETERMINERS = "the|le|la|l'|du|au|el|del|al|der|die|das|den|dem|zum|zur|im|vom|beim|il|lo|dello|della|o|a|do|da|no|na"
_REFERENCE = re.compile(
    rf"(?:\b(?P<det>{_DETERMINERS})\s*(?:{_ORDINAL})(?:\s+{_ARTICLE_WORD}s?)?"
    rf"(?=\s*[?.!]*$|\s*[,:;]|\s+{_ARTICLE_WORD}|\s+(?:say|said|about|dit|dice|sagt|diz)\b)"
    r"|\[(?P<cited>\d+)\]|(?:\bnumber|\bnumero|\bnummer|\bn°|#)\s*(?P<number>\d+)\b)")
# The words that name the article in its place ("du troisième article" → "de l'article « … »"): the
# determiner the noun takes, by the one the user wrote, and the noun; the first is the default.
_NAMED = {
    "en": ("the article ", {}),
    "fr": ("l'article ", {"du": "de l'article ", "au": "à l'article "}),
    "es": ("el artículo ", {"del": "del artículo ", "al": "al artículo "}),
    "de": ("der Artikel ", {"den": "den Artikel ", "dem": "dem Artikel ", "zum": "zum Artikel ", "zur": "zum Artikel ",
                            "im": "im Artikel ", "vom": "vom Artikel ", "beim": "beim Artikel "}),
    "it": ("l'articolo ", {"del": "dell'articolo ", "dello": "dell'articolo ", "della": "dell'articolo "}),
    "pt": ("o artigo ", {"do": "do artigo ", "da": "do artigo ", "no": "no artigo ", "na": "no artigo "}),
}


def listed_titles(answer: str) -> list[str]:
    """The headlines of a list of the latest articles, in order; none when ``answer`` is no such list."""
    return [m.group("title") for m in _LISTED.finditer(answer)]


def with_listed_article(question: str, previous_answer: str, lang: str) -> tuple[str, str]:
    """(the question with its reference to an item of the previous answer's list put as that article,
    named by its headline, the headline), or ('', '') when it refers to none. The model that condenses
    follow-ups turned "Tell me more about the second one." into "What's new?", and the answering
    model, asked of "the second one", told of "the second excerpt": the words go, the headline comes."""
    titles = listed_titles(previous_answer)
    folded = fold(question).replace("’", "'")
    match = _REFERENCE.search(folded) if titles else None
    if match is None:
        return "", ""
    number = match.group("cited") or match.group("number")
    if number:
        n = int(number)
    else:
        n = next(int(name[1:]) if name != "o_last" else len(titles)
                 for name, value in match.groupdict().items() if name.startswith("o") and value)
    if not 1 <= n <= len(titles):
        return "", ""
    title = titles[n - 1]
    lang = lang if lang in _NAMED else "en"
    default, by_determiner = _NAMED[lang]
    named = by_determiner.get(match.group("det") or "", default) + _QUOTED[lang].format(title)
    if len(folded) != len(question):  # fold() changed the length (rare letters): the article named after
        return f"{question} ({named})", title
    start = match.start()
    if question[start:start + 1].isupper():
        named = named[0].upper() + named[1:]
    return question[:start] + named + question[match.end():], title


_IN_THE_ARTICLE = re.compile(
    r",?\s+(?:in|from) the article|,?\s+dans l'article|,?\s+en el art[ií]culo|,?\s+im Artikel"
    r"|,?\s+nell'articolo|,?\s+no artigo", re.I)


def without_article_named(answer: str, title: str) -> str:
    """The answer to a question about a listed article without the question's own "in the article «…»"
    that the model copied ("Lewis Hamilton won the race in the article.")."""
    quoted = "|".join(re.escape(q.format(title)) for q in set(_QUOTED.values())) + "|" + re.escape(title)
    return re.sub(rf"(?:{_IN_THE_ARTICLE.pattern})(?:\s+(?:{quoted}))?(?=\s*[.,;!?\[])", "", answer, flags=re.I)
