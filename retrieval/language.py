"""Language identification for articles and questions (py3langid: offline, fast, 97 languages)."""

from __future__ import annotations

from functools import lru_cache

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
