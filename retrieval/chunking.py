"""Sentence-aware chunking, sized with the embedding model's own tokenizer.

Chunks never exceed what the model reads (its ``max_seq_length``), so nothing is silently cut
off at embedding time; neighbouring chunks overlap by whole sentences; fragments too small to
carry meaning (a byline such as "L. M.") are merged into their neighbour, never stored alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.documents import Article, Chunk
from retrieval.keyword import UNSPACED

TokenCounter = Callable[[str], int]

# Abbreviations after which a full stop does not end a sentence (en/fr/es/de news usage).
_ABBREVIATIONS = {
    "m", "mm", "mme", "mmes", "mlle", "dr", "mr", "mrs", "ms", "st", "ste", "prof", "gen", "gén",
    "sr", "sra", "jr", "co", "inc", "ltd", "vs", "etc", "no", "nº", "art", "p", "pp", "fig",
    "sen", "rep", "gov", "lt", "col", "sgt", "capt", "hr", "fr", "z.b", "bzw", "ca", "av", "ap",
}
_WORD_TAIL = 64  # characters read before a full stop to find the word it ends (abbreviations are shorter)
# Chinese and Japanese end a sentence with a full-width mark and no space ("。", "！", "？"),
# or with the closing quote after it.
_BOUNDARY = re.compile(r"(?<=[.!?…»\"”])\s+(?=[\"«“(\[]?[A-ZÀ-ÖØ-Þ0-9¿¡])|\n+"
                       r"|(?<=[。！？])(?![」』”’）])|(?<=[。！？][」』”’）])")
# A word: a run of non-space characters, or one character of a script written without spaces
# (otherwise a Chinese paragraph is one "word": uncuttable, and too few words to be kept).
_WORDS = re.compile(f"[{UNSPACED}]|[^\\s{UNSPACED}]+")


def word_count(text: str) -> int:
    return len(_WORDS.findall(text))


@dataclass(frozen=True)
class Span:
    text: str
    start: int


def split_sentences(text: str) -> list[Span]:
    """Sentences with their offsets; paragraph breaks always end a sentence."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if "\n" not in match.group(0):
            # Only the end of the sentence so far is read: reading (or copying) all of it, which
            # grows while abbreviations keep it open ("A. B. C. …"), made splitting quadratic.
            end = text[max(start, match.start() - _WORD_TAIL):match.start()]
            last_word = re.search(r"([\w.]+)[.]\W*$", end)
            word = last_word.group(1).lower() if last_word else ""
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
        candidate = text[start:match.start()]
        if candidate.strip():
            spans.append(Span(candidate.strip(), start + len(candidate) - len(candidate.lstrip())))
        start = match.end()
    tail = text[start:]
    if tail.strip():
        spans.append(Span(tail.strip(), start + len(tail) - len(tail.lstrip())))
    return spans


def _split_long(span: Span, budget: int, count: TokenCounter) -> list[Span]:
    """A sentence longer than the budget is cut between words, never inside one, into the longest
    pieces that fit. Each piece's length is found by bisection: growing it a word at a time cost one
    tokenizer call per word, hundreds per piece, and minutes for an unpunctuated megabyte."""
    words = list(_WORDS.finditer(span.text))
    pieces: list[Span] = []
    first = 0
    while first < len(words):
        # words[first:end] fits; a word is at least one token, so no piece holds more than ``budget``.
        end, too_long = first + 1, min(len(words), first + budget) + 1
        while too_long - end > 1:
            middle = (end + too_long) // 2
            if count(span.text[words[first].start():words[middle - 1].end()]) <= budget:
                end = middle
            else:
                too_long = middle
        text = span.text[words[first].start():words[end - 1].end()]
        pieces.append(Span(text, span.start + words[first].start()))
        first = end
    return pieces


def chunk_article(
    article: Article, count: TokenCounter, max_tokens: int, overlap_tokens: int, min_words: int,
    model_limit: int,
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_tokens`` tokens (title included)."""
    title_tokens = count(article.title) if article.title else 0
    budget = max(16, min(max_tokens, model_limit - title_tokens - 4))
    sentences: list[tuple[Span, int]] = []
    for span in split_sentences(article.text):
        n = count(span.text)
        if n > budget:
            sentences.extend((piece, count(piece.text)) for piece in _split_long(span, budget, count))
        else:
            sentences.append((span, n))

    groups: list[list[tuple[Span, int]]] = []
    current: list[tuple[Span, int]] = []
    size = 0
    for sentence, n in sentences:
        if current and size + n > budget:
            groups.append(current)
            overlap: list[tuple[Span, int]] = []
            kept = 0
            for prev in reversed(current):
                if kept + prev[1] > overlap_tokens or len(overlap) + 1 >= len(current):
                    break
                overlap.insert(0, prev)
                kept += prev[1]
            current, size = overlap, kept
        current.append((sentence, n))
        size += n
    if current:
        groups.append(current)

    # A last group that adds only a few words (a byline, a credit) joins the previous one if it fits.
    if len(groups) > 1:
        tail_new = [s for s in groups[-1] if s not in groups[-2]]
        tail_words = sum(word_count(s.text) for s, _ in tail_new)
        prev_size = sum(n for _, n in groups[-2])
        if tail_words < min_words and prev_size + sum(n for _, n in tail_new) <= budget:
            groups[-2] = groups[-2] + tail_new
            groups.pop()

    chunks: list[Chunk] = []
    for group in groups:
        first = group[0][0]
        last = group[-1][0]
        text = article.text[first.start:last.start + len(last.text)]
        if word_count(text) < min_words and len(groups) > 1:
            continue
        chunks.append(Chunk(article=article, index=len(chunks), text=text, start=first.start,
                            tokens=sum(n for _, n in group)))
    return chunks
