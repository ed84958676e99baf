"""Language identification for articles and questions (py3langid: offline, fast, 97 languages)."""

from __future__ import annotations

import re
from functools import lru_cache

from retrieval.keyword import fold

LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "es": "Spanish", "de": "German", "ro": "Romanian",
    "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "ar": "Arabic", "ru": "Russian",
    "zh": "Chinese", "ja": "Japanese", "pl": "Polish", "tr": "Turkish",
}


@lru_cache(maxsize=1)
def _identifier():  # type: ignore[no-untyped-def]
    from py3langid.langid import _load_identifier

    return _load_identifier(norm_probs=True)


def detect_language(text: str, default: str = "") -> str:
    """ISO 639-1 code of ``text``'s language, or ``default`` when the text is too short to tell."""
    sample = text[:3000].strip()
    if len(sample) < 3:
        return default
    lang, prob = _identifier().classify(sample)
    if len(sample) < 40 and prob < 0.5:
        return default
    return str(lang)


def language_name(code: str) -> str:
    """A language's English name, for prompts ("Answer in French")."""
    return LANGUAGE_NAMES.get(code, "the language of the question")


_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def untranslated_words(answer: str, passages: str, question: str) -> list[str]:
    """Words an answer copied from passages in another language instead of translating them.

    A lower-case word of the passages that the question does not use is suspect; it counts when
    it carries an accent ("montañosas") or stands in a run of two or more ("zonas montañosas"),
    so that cognates the languages share ("region", "total") do not.
    """
    passage_words = {fold(w) for w in _WORD.findall(passages)}
    question_words = {fold(w) for w in _WORD.findall(question)}
    found: list[str] = []
    run: list[str] = []
    for word in [*_WORD.findall(re.sub(r"\[\d+\]", " ", answer)), ""]:
        folded = fold(word)
        if word[:1].islower() and len(folded) >= 2 and folded in passage_words and folded not in question_words:
            run.append(word)
            continue
        if len(run) >= 2 or any(not w.isascii() for w in run):
            found.extend(run)
        run = []
    return found
