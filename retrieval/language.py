"""Language identification for articles and questions (py3langid: offline, fast, 140 languages)."""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

from retrieval.citations import without_citations
from retrieval.keyword import fold

LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "es": "Spanish", "de": "German", "ro": "Romanian",
    "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "ar": "Arabic", "ru": "Russian",
    "zh": "Chinese", "ja": "Japanese", "pl": "Polish", "tr": "Turkish",
}


# The languages a short text is told apart among. py3langid knows 140, many of them close cousins
# of widely written ones (Luxembourgish, Occitan, Nigerian Pidgin, Extremaduran): on a one-line
# question such a cousin wins by chance ("wer hat gewonnen?" read as Luxembourgish), or splits the
# vote so that no language is sure ("a quel continent appartient le Bresil?" fell back to English,
# and the French answer was rewritten in English).
_COMMON_LANGUAGES = frozenset({
    "ar", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "et", "fa", "fi", "fr", "he", "hi", "hr",
    "hu", "id", "it", "ja", "ko", "lt", "lv", "mk", "ms", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl",
    "sr", "sv", "sw", "ta", "th", "tr", "uk", "ur", "vi", "zh"})
_SHORT_TEXT = 200
# How much likelier a less common language must be to win a short text. Of the eval sets' 3,639
# questions, 17 were read as a cousin, at most 4.1 times likelier than the right language
# ("Wann entdeckte Carl Wilhelm Scheele Sauerstoff?": Luxembourgish); one-line questions written
# in Afrikaans, Icelandic, Basque, Galician, Tagalog, Irish and Welsh were 5.2 to 10^6 times likelier
# in their own language than in the nearest widely written one.
_COMMON_ODDS = 5.0
# Below this length a guess this unsure is no guess.
_TINY_TEXT, _SURE = 40, 0.5


@lru_cache(maxsize=1)
def _identifier():  # type: ignore[no-untyped-def]
    from py3langid.langid import _load_identifier

    return _load_identifier(norm_probs=True)


def detect_language(text: str, default: str = "") -> str:
    """ISO 639-1 code of ``text``'s language, or ``default`` when the text is too short to tell.

    A short text (a question, a title) is classified among widely written languages unless the full
    model finds another far likelier: on xquad's, piaf's, cnil's and ntrex's 3,639 questions in five
    languages this misreads 16 where the full model alone misread 58 (18 of 550 French piaf questions
    were taken for English)."""
    sample = text[:3000].strip()
    if len(sample) < 3:
        return default
    ranking = _identifier().rank(sample)
    lang, prob = ranking[0]
    if len(sample) < _SHORT_TEXT:
        # The likeliest widely written language, and how sure it is among those alone; a less common
        # one stands when the full model finds it _COMMON_ODDS times likelier ("Hver leiðir
        # einingarstjórnina í Líbíu?": Icelandic).
        common = [(code, p) for code, p in ranking if code in _COMMON_LANGUAGES]
        best, best_prob = common[0]
        if lang in _COMMON_LANGUAGES or prob < _COMMON_ODDS * best_prob:
            lang, prob = best, best_prob / sum(p for _, p in common)
    if len(sample) < _TINY_TEXT and prob < _SURE:
        return default
    return str(lang)


def language_name(code: str) -> str:
    """A language's English name, for prompts ("Answer in French")."""
    return LANGUAGE_NAMES.get(code, "the language of the question")


_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


# A word is "rare" in a language below 3 on the Zipf scale (once in a million words), and "much
# more at home" in another 1.5 points (about 30 times) above that.
_RARE_ZIPF = 3.0
_ZIPF_MARGIN = 1.5


@lru_cache(maxsize=1)
def _wordlist_languages() -> frozenset[str]:
    """Languages wordfreq can look words up in as installed: Chinese, Japanese and Korean need a
    tokenizer (jieba, MeCab) that is not a dependency, and would raise."""
    from wordfreq import available_languages

    return frozenset(available_languages("small")) - {"zh", "ja", "ko"}


def _script(char: str) -> str:
    """The writing system of a letter, as Unicode names it ("LATIN", "CYRILLIC", "CJK"); Japanese
    kana count with the ideographs they are written among."""
    script = unicodedata.name(char, "").split(" ", 1)[0]
    return "CJK" if script in ("HIRAGANA", "KATAKANA") else script


def untranslated_words(answer: str, passages: str, question: str, answer_lang: str = "",
                       passage_lang: str = "") -> list[str]:
    """Words an answer copied from passages in another language instead of translating them.

    Only a word of the passages that the question does not use is suspect. With word frequencies
    for both languages (wordfreq, offline), it counts when it is rare in the answer's language and
    far more common in the passage's: "distrito", "Londres", "pandemias" in an English answer over
    Spanish, but not "region", "total" or "radio", which English uses as much, nor a name such as
    "Kuechly" that neither language knows; a lower-case word with an accent counts when it is rare in
    the answer's language and no commoner there ("ctenóforos", too rare for either list). Without
    word frequencies it counts when it is lower-case and carries an accent ("montañosas") or stands
    in a run of two or more ("zonas montañosas").
    """
    passage_words = {fold(w) for w in _WORD.findall(passages)}
    question_words = {fold(w) for w in _WORD.findall(question)}
    words = _WORD.findall(without_citations(answer, " "))
    # Letters of a script the question is not written in, taken from the passages, are untranslated
    # whatever the word lists say: "the Libyan National团结 Government" over a Chinese article. Latin
    # letters excepted: a Chinese answer may well keep the name "Fayez al-Serraj" as written.
    question_scripts = {_script(c) for c in question if c.isalpha()}
    readable = question_scripts | {"LATIN"}
    runs = ["".join(run) for word in words for _, run in itertools.groupby(word, key=_script)]
    alien = [r for r in runs if r[0].isalpha() and _script(r[0]) not in readable and r in passages]
    if alien and question_scripts:
        return alien

    def copied(word: str) -> bool:
        folded = fold(word)
        return len(folded) >= 2 and folded in passage_words and folded not in question_words

    if {answer_lang, passage_lang} <= _wordlist_languages():
        from wordfreq import zipf_frequency

        def foreign(word: str) -> bool:
            here, there = zipf_frequency(word.lower(), answer_lang), zipf_frequency(word.lower(), passage_lang)
            accented = word[:1].islower() and not word.isascii() and there >= here  # too rare for both lists
            return here < _RARE_ZIPF and (there - here >= _ZIPF_MARGIN or accented)

        return [w for w in words if len(w) >= 3 and copied(w) and foreign(w)]
    found: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if word[:1].islower() and copied(word):
            run.append(word)
            continue
        if len(run) >= 2 or any(not w.isascii() for w in run):
            found.extend(run)
        run = []
    return found
