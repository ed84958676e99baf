"""Publication dates: normalised to ISO days, and time expressions found in questions.

A date that cannot be read leaves the article undated; articlebot never substitutes today's date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from retrieval.keyword import fold

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
    "it": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre",
           "novembre", "dicembre"],
    "pt": ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
           "novembro", "dezembro"],
    "ro": ["ianuarie", "februarie", "martie", "aprilie", "mai", "iunie", "iulie", "august", "septembrie",
           "octombrie", "noiembrie", "decembrie"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"],
}
# How each language writes a day ("24. Juni 2016", "24 de junio de 2016"); others: "24 juin 2016".
_DAY_FORMATS = {"de": "{d}. {m} {y}", "es": "{d} de {m} de {y}", "pt": "{d} de {m} de {y}"}
# "According to an article of …, " and "This changed: …" in the languages articlebot answers in most;
# in any other, the date alone, as an ISO day, rather than an English sentence inside the answer.
_ACCORDING_TO = {
    "en": "According to an article of {when}, ", "fr": "D'après un article du {when}, ",
    "es": "Según un artículo del {when}, ", "de": "Laut einem Artikel vom {when}: ",
    "it": "Secondo un articolo del {when}, ", "pt": "Segundo um artigo de {when}, ",
    "ro": "Potrivit unui articol din {when}, ", "nl": "Volgens een artikel van {when}: ",
}
_EARLIER = {
    "en": "This changed: an earlier article, of {when}, said otherwise [{n}].",
    "fr": "C'est un changement : un article plus ancien, du {when}, disait autre chose [{n}].",
    "es": "Es un cambio: un artículo anterior, del {when}, decía otra cosa [{n}].",
    "de": "Das hat sich geändert: ein älterer Artikel vom {when} sagte etwas anderes [{n}].",
    "it": "È un cambiamento: un articolo precedente, del {when}, diceva altro [{n}].",
    "pt": "Isto mudou: um artigo anterior, de {when}, dizia outra coisa [{n}].",
    "ro": "Aceasta s-a schimbat: un articol mai vechi, din {when}, spunea altceva [{n}].",
    "nl": "Dit is veranderd: een ouder artikel, van {when}, zei iets anders [{n}].",
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
    """'24 June 2016' / '24 juin 2016' / '24. Juni 2016' — for 'According to an article of …'; the ISO
    day in a language without its month names here."""
    day = dt.date.fromisoformat(iso)
    if lang not in MONTHS and lang not in ("", "en"):
        return day.isoformat()
    months = MONTHS.get(lang, MONTHS["en"])
    return _DAY_FORMATS.get(lang, "{d} {m} {y}").format(d=day.day, m=months[day.month - 1], y=day.year)


def according_to(iso: str, lang: str) -> str:
    return _ACCORDING_TO.get(lang or "en", "({when}) ").format(when=spoken_date(iso, lang))


def earlier_account(iso: str, lang: str, n: int) -> str:
    """The sentence that says the news changed, citing the older article (in English where there is
    none for the language: that the news changed matters more than the language it is said in)."""
    return _EARLIER.get(lang, _EARLIER["en"]).format(when=spoken_date(iso, lang), n=n)


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


_MONTH_NAME = "|".join(sorted(map(re.escape, _MONTH_NUMBERS), key=len, reverse=True))
_DAY = r"\d{1,2}(?![\d,.]\d)"
_DATE = (rf"(?:(?P<d1>{_DAY})(?:st|nd|rd|th|er|º)?\.?\s+(?:de\s+)?(?P<m1>{_MONTH_NAME})\.?"
         r"(?:,?\s+(?:de\s+)?(?P<y1>\d{4}))?"
         rf"|(?P<m2>{_MONTH_NAME})\.?\s+(?P<d2>{_DAY})(?:st|nd|rd|th)?(?:,?\s+(?P<y2>\d{{4}}))?"
         rf"|(?P<m3>{_MONTH_NAME})\s+(?:de\s+)?(?P<y3>\d{{4}})"
         r"|(?P<iso>\d{4}-\d{2}-\d{2}))(?![\w-])")
_WEEKDAY = "|".join(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
                    + sorted(w for w in _FILLERS if len(w) > 3))
# A date with the words that place something at it: "on Tuesday, June 4th, 2024," "le 4 juin", "am 4. Juni".
_DATE_PHRASE = re.compile(
    r"(?:,\s*|\s*)(?<![\w-])(?:(?:on|in|by|since|until|le|el|am|au|du|en|im|vom|del)\s+)?(?:the\s+)?"
    rf"(?:(?:{_WEEKDAY}),?\s+)?{_DATE}(?P<comma>,(?=\s))?", re.IGNORECASE)
_ASKS_WHEN = re.compile(
    r"\b(?:when|what (?:year|date|day|month|time)|which (?:year|date|day|month)|since when|how long ago"
    r"|quand|quelle (?:date|annee|jour)|quel (?:jour|mois)|cuando|que (?:ano|fecha|dia|mes)|wann"
    r"|welche[mnrs]? (?:jahr|tag|datum))\b")


DayParts = tuple[int | None, int, int | None]


def _parts(match: re.Match[str]) -> DayParts:
    """(year, month, day) of a date as written; year or day None when it leaves them out."""
    if match.group("iso"):
        y, m, d = map(int, match.group("iso").split("-"))
        return y, m, d
    month = next(match.group(g) for g in ("m1", "m2", "m3") if match.group(g))
    day = match.group("d1") or match.group("d2")
    year = match.group("y1") or match.group("y2") or match.group("y3")
    return (int(year) if year else None), _MONTH_NUMBERS[month.lower()], (int(day) if day else None)


def asks_when(question: str) -> bool:
    """Whether a question asks for a date or a time ("When …?", "En quelle année …?")."""
    return bool(_ASKS_WHEN.search(fold(question)))


def on_one_of(parts: DayParts, isos: list[str]) -> bool:
    """Whether a date as written ("June 5", "June 2024") can be one of the ISO days ``isos``."""
    year, month, day = parts
    days = [dt.date.fromisoformat(iso) for iso in isos if iso]
    return any(d.month == month and day in (None, d.day) and year in (None, d.year) for d in days)


def without_dates(text: str, drop: Callable[[DayParts], bool]) -> str:
    """``text`` without the dates ``drop`` picks, and the words that placed something at them: "The
    Elbe peaked on June 4th, 2024, in Dresden" → "The Elbe peaked in Dresden"."""
    def cut(match: re.Match[str]) -> str:
        if not drop(_parts(match)):
            return match.group(0)
        opens = not text[:match.start()].strip() or re.search(r"[.!?]\s*$", text[:match.start()])
        return "" if opens or text[match.end():match.end() + 1] in ".,;:!?" else " "

    cleaned = _DATE_PHRASE.sub(cut, text).strip()
    if cleaned and text.strip()[:1].isupper():
        cleaned = cleaned[0].upper() + cleaned[1:]
    return re.sub(r"  +", " ", cleaned)
