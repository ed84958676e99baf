"""BM25 keyword search in Python: local Chroma offers only dense search.

Words are lower-cased, stripped of accents and cut to their first five letters, so "Sarraj"
finds "Sarraj" whatever the article's typography and "Regierungen" finds "Regierung". Cutting
words short is the stemmer that works in every language without a word list; on xquad (English
questions translated by the local LLM, over German paragraphs) it made keyword search help
instead of hurt, because a small model's translation rarely gets the inflection right.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

_WORD = re.compile(r"\w+", re.UNICODE)
PREFIX_CHARS = 5
# Scripts written without spaces between words (Chinese, Japanese, Thai). There a run of letters is
# a whole clause, no word; it is indexed as overlapping pairs of characters, as CJK search engines
# do, so that "萨拉杰" in a question finds "总理法耶兹·萨拉杰周四" in an article.
UNSPACED = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNSPACED_RUN = re.compile(f"([{UNSPACED}]+)")


def fold(text: str) -> str:
    """Lower case without accents: the form both keyword search and answer matching compare."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    words = []
    for word in _WORD.findall(fold(text)):
        for i, part in enumerate(_UNSPACED_RUN.split(word)):
            if i % 2:  # split() on a capturing group: the unspaced runs are the odd parts
                words.extend(part[i:i + 2] for i in range(max(1, len(part) - 1)))
            elif len(part) > 1 or part.isdigit():
                words.append(part)
    return words


def terms(text: str, prefix: int = PREFIX_CHARS) -> list[str]:
    """The index terms of ``text``: words cut to ``prefix`` letters (0 keeps them whole); numbers
    stay whole, since 20161 is not 20162."""
    if prefix <= 0:
        return tokenize(text)
    return [w if len(w) <= prefix or any(c.isdigit() for c in w) else w[:prefix] for w in tokenize(text)]


@dataclass
class BM25Index:
    """An in-memory BM25 (k1=1.2, b=0.75) over one collection's chunks."""

    ids: list[str]
    langs: list[str] = field(default_factory=list)
    language_counts: Counter[str] = field(default_factory=Counter)
    k1: float = 1.2
    b: float = 0.75
    prefix: int = PREFIX_CHARS
    _postings: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    _lengths: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, ids: list[str], texts: list[str], langs: list[str] | None = None,
              prefix: int = PREFIX_CHARS) -> BM25Index:
        index = cls(ids=list(ids), langs=list(langs or [""] * len(ids)), prefix=prefix)
        index.language_counts = Counter(index.langs)  # counted once, read on every translated question
        for doc, text in enumerate(texts):
            counts = Counter(terms(text, prefix))
            index._lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                index._postings.setdefault(term, []).append((doc, tf))
        return index

    def search(self, query: str, n: int, lang: str = "") -> list[tuple[str, float]]:
        """Best ``n`` chunks; with ``lang``, only chunks in that language (words rarely match across
        languages, and ranking them anyway was measured to hurt cross-lingual retrieval)."""
        if not self.ids:
            return []
        total = len(self.ids)
        avg = sum(self._lengths) / total or 1.0
        scores: dict[int, float] = {}
        for term in set(terms(query, self.prefix)):
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = math.log(1 + (total - len(postings) + 0.5) / (len(postings) + 0.5))
            for doc, tf in postings:
                norm = tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * self._lengths[doc] / avg))
                scores[doc] = scores.get(doc, 0.0) + idf * norm
        if lang:
            scores = {doc: s for doc, s in scores.items() if self.langs[doc] == lang}
        best = sorted(scores.items(), key=lambda kv: -kv[1])[:n]
        return [(self.ids[doc], score) for doc, score in best]
