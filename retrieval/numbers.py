"""Numbers stated in a text, whether written in digits or in words (en, fr, es, de).

The grounding check compares the numbers of an answer with those of its cited passages: a small
model that turns "une vingtaine" (about twenty) into "twenty-five to thirty" is caught here.
"one"/"un"/"une"/"ein" are left out: they are articles far more often than numbers.
"""

from __future__ import annotations

import re

from retrieval.dates import MONTHS
from retrieval.keyword import fold

# Two to ten in the languages answers are written in: the word an article used is the word its answer
# keeps (see spelled_as_in).
SMALL_NUMBER_WORDS = {
    "en": ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    "fr": ("deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"),
    "es": ("dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez"),
    "de": ("zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn"),
}
_UNITS = {fold(word): n for words in SMALL_NUMBER_WORDS.values() for n, word in enumerate(words, 2)} | {
    # English
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "dozen": 12, "million": 1_000_000, "millions": 1_000_000, "billion": 1_000_000_000, "billions": 1_000_000_000,
    # French
    "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20,
    "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "cent": 100, "mille": 1000,
    "dizaine": 10, "douzaine": 12, "quinzaine": 15, "vingtaine": 20, "trentaine": 30, "quarantaine": 40,
    "cinquantaine": 50, "centaine": 100, "milliers": 1000, "millier": 1000,
    "milliard": 1_000_000_000, "milliards": 1_000_000_000,
    # Spanish
    "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "cien": 100, "mil": 1000,
    "millon": 1_000_000, "millones": 1_000_000, "billon": 1_000_000_000_000, "billones": 1_000_000_000_000,
    # German
    "zwanzig": 20, "dreissig": 30, "hundert": 100, "tausend": 1000, "millionen": 1_000_000,
    "milliarde": 1_000_000_000, "milliarden": 1_000_000_000,
}
_DIGITS = re.compile(r"\d+(?:[ .,\u00a0\u202f]\d{3})*(?:[.,]\d+)?")
_WORDS = re.compile(r"[a-z]+(?:-[a-z]+)*")


def _parse_digits(raw: str) -> float:
    raw = raw.replace("\u202f", " ").replace("\u00a0", " ")
    if re.fullmatch(r"\d{1,3}(?:[ .,]\d{3})+", raw):
        return float(re.sub(r"[ .,]", "", raw))
    return float(raw.replace(" ", "").replace(",", "."))


def numbers_in(text: str) -> set[float]:
    found: set[float] = set()
    for match in _DIGITS.finditer(text):
        try:
            found.add(_parse_digits(match.group(0)))
        except ValueError:
            continue
    for word in _WORDS.findall(fold(text)):
        parts = [p for p in word.split("-") if p not in ("et", "and", "y", "und")]
        values = [_UNITS[p] for p in parts if p in _UNITS]
        if values and len(values) == len(parts):
            total = values[0]
            for v in values[1:]:
                total = total * v if v >= 100 and total < v else total + v
            found.add(float(total))
    return found


def figures_in(text: str) -> set[float]:
    """The numbers ``text`` writes in digits (a year, a count), which stay the same across languages."""
    return numbers_in(re.sub(r"[^\d\s.,]", " ", text))


_SPACE_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d,.]\d)")
_COMMA_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,.]\d)")
_DECIMAL_COMMA = re.compile(r"(?<![\d.,])(\d+),(\d{1,2})(?![\d,.]?\d)")  # "1,5" is 1.5 in French or Spanish
_DECIMAL_POINT = re.compile(r"(?<![\d.,])(\d+)\.(\d{1,2})(?![\d,.]?\d)")


def written_for(text: str, lang: str) -> str:
    """Numbers the reader's way: "16 000" and "1,5" from a French or Spanish passage read "16,000" and
    "1.5" in an English answer, and "16,000" and "1.5" from an English passage read "16 000" and "1,5"
    in a French one (where "16,000" would mean sixteen). Only unambiguous forms are touched: years,
    "2000" and "2.000" stay."""
    if lang == "en":
        text = _DECIMAL_COMMA.sub(r"\1.\2", text)
        return _SPACE_GROUPED.sub(lambda m: re.sub(r"[ \u00a0\u202f]", ",", m.group(0)), text)
    if lang in ("fr", "es", "de", "it", "pt", "ro", "nl", "pl"):
        text = _DECIMAL_POINT.sub(r"\1,\2", text)
        return _COMMA_GROUPED.sub(lambda m: m.group(0).replace(",", "\u00a0"), text)
    return text


_SPLIT_GROUP = re.compile(r"(?<![\d.,])(\d{1,3}), (\d{3})(?![\d,.]\d)")


def rejoin_split_groups(text: str, known: set[float]) -> str:
    """"70, 000" → "70,000" where the passages state 70000: the model's tokenizer splits a digit group
    it copies, and the numbers check would read 70 and 0. "On March 3, 200 people" stays as it is
    unless 3200 is a number of the passages."""
    return _SPLIT_GROUP.sub(lambda m: f"{m.group(1)},{m.group(2)}"
                            if float(m.group(1) + m.group(2)) in known else m.group(0), text)


_SMALL_DIGIT = re.compile(r"(?<![\w.,:/\-$€£¥#\[])(10|[2-9])(?![\w%\]]|[.,:/\-]\w| %)")
# What a figure measures or counts in English ("5 km", "3 mph"): it stays a figure before these.
_UNITS_AFTER = {"km", "m", "cm", "mm", "kg", "g", "mg", "t", "lb", "lbs", "oz", "mi", "ft", "yd", "l", "ml", "h",
                "hr", "hrs", "min", "s", "sec", "ms", "mph", "kph", "kw", "mw", "gw", "kwh", "hz", "khz", "mhz",
                "ghz", "kb", "mb", "gb", "tb", "ha", "bn", "am", "pm", "a.m", "p.m", "sq", "m²", "km²", "mi²"}
_MONTHS = {m.lower() for m in MONTHS["en"]} | {"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
                                               "nov", "dec"}


# Capitalised only because they open a sentence: "In 4 years" is prose, "Apollo 8" a name.
SENTENCE_OPENERS = {"in", "after", "for", "about", "only", "over", "nearly", "almost", "some", "the", "all", "with",
                    "by", "at", "within", "around", "roughly", "just", "its", "their", "his", "her", "these", "those",
                    "from", "between", "every", "each", "another", "there", "they", "he", "she", "it", "we", "en",
                    "les", "los", "las", "die", "der", "das", "con", "avec", "mit", "unos", "unas", "environ"}


def _opens_sentence(before: str) -> bool:
    """Whether what follows ``before`` (the text up to it) is the first word of a sentence."""
    return not before.strip() or bool(re.search(r"[.!?]\s*$", before))


def _a_figure(text: str, match: re.Match[str]) -> bool:
    """Whether a small number is a figure even in prose: before a unit or symbol ("5 km", "4 °C"),
    or after a name, a label or a month ("Apollo 8", "Chapter 3", "March 4")."""
    after = re.match(r"\s*(\S+)", text[match.end():])
    if after and (after.group(1).lower().rstrip(".,;:)") in _UNITS_AFTER or after.group(1)[0] in "°%‰×"):
        return True
    before = text[:match.start()]
    previous = re.search(r"(\S+)\s+$", before)
    if not previous:
        return False
    word = previous.group(1)
    opens_sentence = _opens_sentence(before[:previous.start()])
    return word.lower() in _MONTHS or (word[0].isupper() and not (opens_sentence and word.lower() in SENTENCE_OPENERS))


def spelled_as_in(text: str, passages: str, lang: str) -> str:
    """Two to ten written as the article wrote them, and as English writes them: where the passages
    spell "cuatro" and never write 4, the answer says "four", not "4" (a small model turns words into
    digits as it translates); and an English answer spells out two to nine as English prose does
    (news style and Wikipedia's: "four forced fumbles" even where the Spanish article wrote "4"),
    except where English too writes a figure ("5 km", "Apollo 8", "March 4"). Times, decimals,
    percentages, scores and ordinals ("4:30", "4.5", "4 %", "4-3", "4th") stay as they are."""
    words = SMALL_NUMBER_WORDS.get(lang)
    if not words:
        return text
    digits = figures_in(passages)
    spelled = numbers_in(re.sub(r"\d", " ", passages))

    def word_for(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if _a_figure(text, match) or ((lang != "en" or n == 10) and (n in digits or n not in spelled)):
            return match.group(0)
        word = words[n - 2]
        return word.capitalize() if _opens_sentence(text[: match.start()]) else word

    return _SMALL_DIGIT.sub(word_for, text)


# Words that make a number a bound or an estimate, by what they say of it, in the passages' languages
# (accents folded); the -aine words ("une vingtaine") are estimates by themselves. English "over",
# "some" and "under" are left out: "over 3 days" and "under 5 rules" say when and where, not how many;
# so is German "fast" (almost), which an English passage uses for speed ("a fast 100 metres").
_QUALIFIERS = {
    "more": ("plus de", "mas de", "mehr als", "uber", "more than", "depasse les", "depassent les", "depassant les",
             "au-dela de", "supera el", "supera los", "superan los", "ubersteigt", "exceeds", "exceeding",
             "piu di", "oltre", "mais de"),
    "least": ("au moins", "al menos", "mindestens", "at least", "almeno", "pelo menos"),
    "about": ("environ", "quelque", "unos", "unas", "alrededor de", "aproximadamente", "etwa", "rund",
              "ungefahr", "circa", "about", "around", "roughly", "approximately"),
    "nearly": ("pres de", "presque", "cerca de", "casi", "knapp", "nearly", "almost", "close to", "quasi", "quase"),
    "less": ("moins de", "menos de", "weniger als", "less than", "fewer than", "meno di"),
}
# The same, as an answer in that language writes it.
QUALIFIER_WORDS = {
    "en": {"more": "more than", "least": "at least", "about": "about", "nearly": "nearly", "less": "less than"},
    "fr": {"more": "plus de", "least": "au moins", "about": "environ", "nearly": "près de", "less": "moins de"},
    "es": {"more": "más de", "least": "al menos", "about": "unos", "nearly": "casi", "less": "menos de"},
    "de": {"more": "mehr als", "least": "mindestens", "about": "etwa", "nearly": "fast", "less": "weniger als"},
    "it": {"more": "più di", "least": "almeno", "about": "circa", "nearly": "quasi", "less": "meno di"},
    "pt": {"more": "mais de", "least": "pelo menos", "about": "cerca de", "nearly": "quase", "less": "menos de"},
}
_QUALIFIED = {kind: re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\s+(?:d')?$")
              for kind, words in _QUALIFIERS.items()}
# An answer that hedges its number in any words is left as it is ("Over 800 people died").
_HEDGED = re.compile(r"\b(?:" + "|".join(map(re.escape, [w for ws in _QUALIFIERS.values() for w in ws] +
                                            ["over", "some", "under", "fast", "up to", "jusqu'a", "hasta", "bis zu"]))
                     + r")\s+(?:d')?$")
_NUMBER_TOKEN = re.compile(_DIGITS.pattern + r"|[^\W\d_]+(?:-[^\W\d_]+)*")


def _stated_numbers(text: str) -> list[tuple[float, re.Match[str]]]:
    """Each number of ``text`` where it stands: digits, or a number word ("vingtaine", "eight")."""
    found = []
    for match in _NUMBER_TOKEN.finditer(text):
        token = match.group(0)
        if token[0].isdigit():
            try:
                found.append((_parse_digits(token), match))
            except ValueError:
                continue
        elif (word := fold(token)) in _UNITS:
            found.append((float(_UNITS[word]), match))
    return found


def _words_before(text: str, match: re.Match[str]) -> str:
    return fold(text[max(0, match.start() - 40):match.start()])


def _qualifier(text: str, match: re.Match[str]) -> str:
    """What the passage's words say of a number it states ("more", "about", …), or ''."""
    if fold(match.group(0)).endswith("aine"):
        return "about"
    before = _words_before(text, match)
    return next((kind for kind, pattern in _QUALIFIED.items() if pattern.search(before)), "")


def hedged_as_in(text: str, passages: str, lang: str) -> str:
    """A number the passages give only as a bound or an estimate keeps it in the answer: "plus de 800
    morts" answers "More than 800 people died", not "800 people died"; "une vingtaine de soldats"
    answers "about 20 soldiers". A small model drops such words as it translates; the numbers check
    cannot see it, since the number itself is right. Left alone: a number the passages also state
    plainly, or with words of different kinds, and one the answer already hedges."""
    words = QUALIFIER_WORDS.get(lang)
    if not words:
        return text
    kinds: dict[float, set[str]] = {}
    for value, match in _stated_numbers(passages):
        kinds.setdefault(value, set()).add(_qualifier(passages, match))
    out, last = [], 0
    for value, match in _stated_numbers(text):
        said = kinds.get(value, {""})
        if len(said) != 1 or "" in said or _HEDGED.search(_words_before(text, match)) or \
                fold(match.group(0)).endswith("aine"):
            continue
        phrase, token = words[next(iter(said))], match.group(0)
        if _opens_sentence(text[:match.start()]):
            phrase, token = phrase[0].upper() + phrase[1:], token[0].lower() + token[1:]
        out.append(f"{text[last:match.start()]}{phrase} {token}")
        last = match.end()
    out.append(text[last:])
    return "".join(out)
