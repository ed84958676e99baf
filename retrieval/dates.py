"""Publication dates: normalised to ISO days, and time expressions found in questions.

A date that cannot be read leaves the article undated; articlebot never substitutes today's date.
"""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime

_EPOCH = dt.date(1970, 1, 1)
MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"],
}


# Month names and abbreviations of the languages above, and the words around a date in them
# ("vendredi 24 juin", "24 de junio de", "Freitag, 24. Juni"), for a date written by hand.
_ABBREVIATIONS = {"janv": 1, "févr": 2, "fevr": 2, "avr": 4, "juil": 7, "sept": 9, "déc": 12, "dec": 12,
                  "ene": 1, "abr": 4, "ago": 8, "dic": 12, "jän": 1, "mär": 3, "okt": 10, "dez": 12}
_MONTH_NUMBERS = {name.lower(): i + 1 for names in MONTHS.values() for i, name in enumerate(names)}
_MONTH_NUMBERS |= {name.replace("é", "e").replace("û", "u").replace("ä", "a"): n
                   for name, n in _MONTH_NUMBERS.items()} | _ABBREVIATIONS
_FILLERS = {"le", "de", "del", "der", "den", "am", "à", "a", "las", "um", "lundi", "mardi", "mercredi", "jeudi",
            "vendredi", "samedi", "dimanche", "lunes", "martes", "miércoles", "miercoles", "jueves", "viernes",
            "sábado", "sabado", "domingo", "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag",
            "sonntag"}


def _in_english(value: str) -> str:
    """'vendredi 24 juin 2016', '1er août 2016', '24 de junio de 2016', '24. Juni 2016' → '24 June 2016'."""
    words = []
    for word in re.findall(r"\d{1,2}[:h]\d{2}(?::\d{2})?|\w+", value.lower()):
        if word in _FILLERS:
            continue
        if word in _MONTH_NUMBERS:
            word = MONTHS["en"][_MONTH_NUMBERS[word] - 1]
        elif word[0].isdigit():  # "1er" → "1", "10h00" → "10:00"
            word = re.sub(r"^(\d+)(?:er|e|º|°)$", r"\1", word).replace("h", ":")
        words.append(word)
    return " ".join(words)


def normalize_date(value: str) -> str:
    """'2016-06-24', 'Fri, 24 Jun 2016 10:00:00 GMT', '24 June 2016', '2016' → ISO day ('' if unreadable)."""
    value = (value or "").strip()
    if not value:
        return ""
    if re.fullmatch(r"\d{4}", value):
        return f"{value}-01-01" if 1800 <= int(value) <= 2200 else ""
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
    if match:
        try:
            return dt.date(*map(int, match.groups())).isoformat()
        except ValueError:
            return ""
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    from dateutil import parser

    for text in (value, _in_english(value)):
        try:
            parsed, other = (parser.parse(text, fuzzy=False, default=dt.datetime(year, 1, 1)) for year in (2000, 2001))
        except (ValueError, OverflowError, TypeError):
            continue
        # A date without its year ("24 June") would take the default's: not a date to file an article under.
        return parsed.date().isoformat() if parsed.year == other.year and 1800 <= parsed.year <= 2200 else ""
    return ""


def day_number(iso: str) -> int:
    """Days since 1970-01-01: Chroma filters compare numbers, not strings."""
    return (dt.date.fromisoformat(iso) - _EPOCH).days


def spoken_date(iso: str, lang: str) -> str:
    """'24 June 2016' / '24 juin 2016' — for 'According to an article of …'."""
    day = dt.date.fromisoformat(iso)
    months = MONTHS.get(lang, MONTHS["en"])
    return f"{day.day} {months[day.month - 1]} {day.year}"


def according_to(iso: str, lang: str) -> str:
    when = spoken_date(iso, lang)
    return {
        "fr": f"D'après un article du {when}, ",
        "es": f"Según un artículo del {when}, ",
        "de": f"Laut einem Artikel vom {when}: ",
    }.get(lang, f"According to an article of {when}, ")


def earlier_account(iso: str, lang: str, n: int) -> str:
    """The sentence that says the news changed, citing the older article."""
    when = spoken_date(iso, lang)
    return {
        "fr": f"C'est un changement : un article plus ancien, du {when}, disait autre chose [{n}].",
        "es": f"Es un cambio: un artículo anterior, del {when}, decía otra cosa [{n}].",
        "de": f"Das hat sich geändert: ein älterer Artikel vom {when} sagte etwas anderes [{n}].",
    }.get(lang, f"This changed: an earlier article, of {when}, said otherwise [{n}].")


_YEAR = re.compile(r"\b(?:in|en|im|dans|during|pendant|durante|del|de)\s+((?:18|19|20|21)\d{2})\b", re.I)
_RELATIVE = [
    (re.compile(r"\b(last|past) week\b|\bla semaine derni[eè]re\b|\bla semana pasada\b|\bletzte woche\b", re.I), 7),
    (re.compile(r"\b(last|past) month\b|\ble mois dernier\b|\bel mes pasado\b|\bletzten monat\b", re.I), 31),
    (re.compile(r"\b(yesterday|today)\b|\bhier\b|\baujourd'hui\b|\bayer\b|\bhoy\b|\bgestern\b|\bheute\b", re.I), 2),
    (re.compile(r"\b(this|last|past) year\b|\bcette ann[ée]e\b|\bl'ann[ée]e derni[eè]re\b", re.I), 366),
]


def period_in_question(question: str, today: dt.date | None = None) -> tuple[str, str]:
    """(since, until) that a question names itself ("in 2016", "last week"), or ('', '')."""
    today = today or dt.date.today()
    match = _YEAR.search(question)
    if match:
        year = int(match.group(1))
        return f"{year}-01-01", f"{year}-12-31"
    for pattern, days in _RELATIVE:
        if pattern.search(question):
            return (today - dt.timedelta(days=days)).isoformat(), today.isoformat()
    return "", ""
