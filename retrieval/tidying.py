"""The model's reply made into the plain sentences the checks read and the reader sees.

A small model asked to sum up an article writes a numbered list, runs out of tokens mid-sentence
and repeats itself: "Résume l'article sur le tsunami en Indonésie." drew eight numbered facts and
"L'article souligne la tragédie causée", and the numbers check, reading "3." … "8." as numbers the
article never gives, cut every item, leaving 'D'après un article du 2 octobre 2018, Doseba.'.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from retrieval.citations import citation_run, citations_in, without_citations

# Between sentences of an answer: after ".", "!", "?" or a citation, before a capital or a quote.
SENTENCE_END = re.compile(r"(?<=[.!?\]])(?<!\b\d\.)(?<!\b\d\d\.)\s+(?=[A-ZÀ-Ý\"“«(¿¡])")
# "1. ", "2) ", "- ", "• " opening a line: "1.5 million" or "-3 °C" are no markers.
_LIST_MARKER = re.compile(r"^[ \t]*(?:\d{1,2}[.)]|[-*•·])[ \t]+")
_ENDED = re.compile(r"[.!?:;…。！？\]»”\"')]\s*$")
_ITEM_ENDED = re.compile(r"[.!?…。！？:;][\"'”»)]?\s*(?:\[\d+\]\s*)*$")


def as_sentences(text: str) -> str:
    """A list the model wrote, as running sentences: its markers are no numbers the article gives,
    and each item ends as a sentence, so the checks read it item by item."""
    lines = text.splitlines()
    if not any(_LIST_MARKER.match(line) for line in lines):
        return text
    sentences = []
    for line in lines:
        item = _LIST_MARKER.sub("", line).strip()
        if item:  # an item ends as a sentence; other lines as written (an unfinished one is cut off later)
            sentences.append(item + "." if item != line.strip() and not _ITEM_ENDED.search(item) else item)
    return " ".join(sentences)


def without_sentences(text: str, drop: Callable[[str, list[str]], bool]) -> str:
    """The answer without the sentences after its first that ``drop`` (given the sentence and those
    kept before it) rejects; their citations stay with what is kept."""
    first, *rest = SENTENCE_END.split(text)
    kept, dropped = [first], []
    for sentence in rest:
        (dropped if drop(sentence, kept) else kept).append(sentence)
    return _rejoined(kept, dropped) if dropped else text


def _rejoined(kept: list[str], dropped: list[str]) -> str:
    answer = " ".join(kept)
    cited = set(citations_in(answer))
    lost = [c for s in dropped for c in citations_in(s) if c not in cited]
    return answer + citation_run(dict.fromkeys(lost))


def _said(sentence: str) -> str:
    return re.sub(r"\W+", " ", without_citations(sentence)).strip().lower()


def without_repeats(text: str) -> str:
    """The answer with each sentence once: the model, at length, loops ("The referendum was held in
    Skopje … The referendum was held in Skopje …")."""
    return without_sentences(text, lambda sentence, kept: _said(sentence) in {_said(k) for k in kept})


def without_cut_off_end(text: str) -> str:
    """The answer without a last sentence the token limit cut off ("L'article souligne la tragédie
    causée"): it says less than it seems to, and no citation stands behind it. An answer of one
    unfinished sentence stays as it is ("Fayez al-Serraj")."""
    sentences = SENTENCE_END.split(text.rstrip())
    if _ENDED.search(text) or len(sentences) < 2:
        return text
    return _rejoined(sentences[:-1], sentences[-1:])
