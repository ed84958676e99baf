"""Turn files and folders into :class:`Article` records.

Every loader either returns articles or raises :class:`BadInputError` with a one-line reason: a
user who points articlebot at the wrong file learns why, and nothing is half-ingested.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from retrieval.dates import normalize_date
from retrieval.documents import Article
from retrieval.errors import BadInputError
from retrieval.language import detect_language

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSON_SUFFIXES = {".json"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
PDF_SUFFIXES = {".pdf"}
DOCX_SUFFIXES = {".docx"}
SUPPORTED_SUFFIXES = (
    TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES | JSONL_SUFFIXES | PDF_SUFFIXES | DOCX_SUFFIXES
)
_MIN_TEXT_CHARS = 20
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
# Legacy code pages by the language their text is in: Czech read as CP1252 ("Pøedseda") or Turkish
# ("Cumhurbaþkaný") fits as well by charset_normalizer's chaos as the right page; the language of the
# words that are plain ASCII (the same in every page) tells them apart.
_CODE_PAGES = {**dict.fromkeys(("cs", "sk", "pl", "hu", "ro", "hr", "sl", "bs", "sq"), ("cp1250", "iso8859_2")),
               "tr": ("cp1254", "iso8859_9"), "az": ("cp1254", "iso8859_9")}
# What browsers read for these labels (WHATWG Encoding): Latin-1 pages are CP1252 in practice ("œ", "€").
_AS_BROWSERS_READ = {"latin_1": "cp1252", "ascii": "cp1252", "iso8859_9": "cp1254", "tis_620": "cp874"}


@dataclass(frozen=True)
class LoadFailure:
    """A record of a JSON or JSONL file that could not be read; the others go on."""

    source: str
    reason: str


class PartlyLoaded(BadInputError):
    """Some records of a file were read and some refused (a JSONL line without 'text' among 10,000):
    the good ones are ingested and each bad one reported, as the files of a folder are."""

    def __init__(self, articles: list[Article], failures: list[LoadFailure]) -> None:
        super().__init__(f"{failures[0].reason} (and {len(failures) - 1} more)" if len(failures) > 1
                         else failures[0].reason)
        self.articles = articles
        self.failures = failures


def read_articles(failed: list[tuple[str, str]], load: Callable[..., list[Article]], *args: Any,
                  **kwargs: Any) -> list[Article]:
    """What ``load(*args, **kwargs)`` reads; the records it refused are added to ``failed`` as (source, reason)."""
    try:
        return load(*args, **kwargs)
    except PartlyLoaded as exc:
        failed.extend((f.source, f.reason) for f in exc.failures)
        return exc.articles


def _codec(label: str) -> str:
    import codecs

    try:
        name = codecs.lookup(label.strip().strip("\"'")).name.replace("-", "_")
    except LookupError:
        return ""
    return _AS_BROWSERS_READ.get(name, name)


def decode_bytes(data: bytes, source: str, declared: str = "") -> str:
    """Bytes to text: UTF-8 when they are UTF-8, else the charset the server or the page declares
    (``declared``), else a guess: a Latin-1 or CP1252 French article, a CP1250 Czech one, a CP1254
    Turkish one must all read right."""
    if not data.strip():
        raise BadInputError(f"{source}: the file is empty")
    utf16 = _utf16(data)
    if b"\x00" in data[:8192] and not utf16:
        raise BadInputError(f"{source}: binary content, not text")
    if not utf16:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    text = ""
    codec = utf16 or (_codec(declared) if declared else "")
    if codec and not codec.startswith("utf_8"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            pass  # a wrong declaration: guess instead
    if not text:
        text = _guess(data, source)
    controls = sum(1 for ch in text[:5000] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(5, len(text[:5000]) // 100):
        raise BadInputError(f"{source}: binary content, not text")
    return text


def _utf16(data: bytes) -> str:
    """The codec of UTF-16 text, else '': 'utf_16' with a byte-order mark; without one (Excel's and
    some Windows tools' "Unicode text"), 'utf_16_le' or 'utf_16_be' by where its NULs are. Text in
    Latin, Greek or Cyrillic script has a NUL as every other byte and almost none between; what it
    decodes to still faces the check for control characters, so binary data with such a pattern is
    refused there."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf_16"
    sample = data[:8192]
    sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 8:
        return ""
    low, high = sample[0::2], sample[1::2]
    for codec, zeros, others in (("utf_16_le", high, low), ("utf_16_be", low, high)):
        if zeros.count(0) >= 0.5 * len(zeros) and others.count(0) <= 0.01 * len(others):
            return codec
    return ""


def _guess(data: bytes, source: str) -> str:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise BadInputError(f"{source}: binary content or unknown text encoding")
    best = matches[0]
    tied = [m for m in matches if m.chaos <= best.chaos + 0.05]
    plain = " ".join(word for word in str(best).split() if word.isascii())
    pages = _CODE_PAGES.get(detect_language(plain), _WESTERN)
    for match in tied:
        if match.encoding in pages:
            return str(match)
    if pages is not _WESTERN:  # the page of the language, if charset_normalizer left it out
        try:
            return data.decode(pages[0])
        except UnicodeDecodeError:
            pass
    # Short Western European texts fit several code pages equally well; news in Latin-1/CP1252 is
    # by far the likeliest, so it wins unless another encoding is clearly better.
    return str(best)


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _require_text(text: str, source: str) -> str:
    text = _clean(text)
    if len(text) < _MIN_TEXT_CHARS:
        raise BadInputError(f"{source}: no article text found (empty or too short)")
    return text


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip() or path.name


def title_from_url(url: str) -> str:
    """What a fetched page without a title of its own is called: its URL's last path segment
    ("/2016/06/libye-accord.txt" → "libye accord"), else its host; never the placeholder name the
    fetched bytes were loaded under."""
    parts = urlsplit(url)
    segment = unquote(parts.path.rstrip("/").rpartition("/")[2])
    return (_title_from_name(Path(segment)) if segment else "") or parts.hostname or url


def _make_article(
    *, id: str, title: str, text: str, source: str, url: str = "", date: str = "",
    lang: str = "", extra: dict[str, str] | None = None,
) -> Article:
    text = _require_text(text, source)
    title = _clean(title)[:300] or text[:80]
    return Article(
        id=id, title=title, text=text, source=source, url=url, date=normalize_date(str(date or "")),
        lang=lang or detect_language(text), extra=extra or {},
    )


def load_plain_text(text: str, path: Path, source: str, title: str = "") -> Article:
    """A short first line followed by more text is the headline; otherwise ``title`` or the file name is."""
    text = _clean(text)
    first, _, rest = text.partition("\n")
    if rest.strip() and len(first) <= 200 and not first.rstrip().endswith((".", ":", ";", ",")):
        title, body = first.strip(), rest
    else:
        title, body = title or _title_from_name(path), text
    return _make_article(id=source, title=title, text=body, source=source)


def load_markdown(text: str, path: Path, source: str, title: str = "") -> Article:
    meta: dict[str, str] = {}
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip().strip("\"'")
        text = text[match.end():]
    heading = re.search(r"^#\s+(.+)$", text, re.M)
    title = meta.get("title") or (heading.group(1).strip() if heading else title or _title_from_name(path))
    if heading and not meta.get("title"):
        text = text[: heading.start()] + text[heading.end():]
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^#{1,6}\s*", "", text, flags=re.M)
    text = re.sub(r"[*_`]{1,3}", "", text)
    return _make_article(
        id=meta.get("url") or source, title=title, text=text, source=source,
        url=meta.get("url", ""), date=meta.get("date", ""),
    )


def load_html(html: str, source: str, url: str = "", title: str = "") -> Article:
    """The article's own text via trafilatura: menus, ads, cookie banners and footers left out."""
    import trafilatura

    if not re.search(r"<\s*(html|body|p|div|article|h1|title)\b", html[:20000], re.I):
        raise BadInputError(f"{source}: not an HTML page")
    try:
        doc = trafilatura.bare_extraction(
            html, url=url or None, with_metadata=True, include_comments=False,
            include_tables=False, favor_precision=True,
        )
    except Exception as exc:  # trafilatura raises assorted parser errors on broken markup
        raise BadInputError(f"{source}: the HTML could not be parsed ({type(exc).__name__})") from exc
    if doc is None or not (getattr(doc, "text", None) or "").strip():
        raise BadInputError(f"{source}: no article text found in the HTML")
    canonical = (getattr(doc, "url", None) or url or "").strip()
    return _make_article(
        id=canonical or source, title=getattr(doc, "title", None) or title, text=doc.text, source=source,
        url=canonical, date=getattr(doc, "date", None) or "", lang=getattr(doc, "language", None) or "",
        extra={"author": getattr(doc, "author", None) or ""},
    )


def load_pdf(data: bytes, source: str, url: str = "", title: str = "") -> Article:
    """PDF text with the offset where each page starts, so that citations can name the page."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    # pypdf logs what it repairs in a damaged file; the user gets one line, the refusal below, or nothing.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # many "protected" PDFs open without a password
            raise BadInputError(f"{source}: the PDF is password-protected")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, DependencyError, ValueError, KeyError, TypeError, OSError, NotImplementedError) as exc:
        raise BadInputError(f"{source}: not a readable PDF ({exc.__class__.__name__})") from exc
    if pages and not "".join(pages).strip():
        raise BadInputError(f"{source}: the PDF holds no text (a scanned document? articlebot reads text, not images)")
    starts: list[int] = []
    text = ""
    for page in pages:
        starts.append(len(text))
        text += _clean(page) + "\n\n"
    return _make_article(
        id=url or source, title=meta_title or title or _title_from_name(Path(source)), text=text, source=source,
        url=url, extra={"page_starts": json.dumps(starts)},
    )


_WORDML = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DOCX_MAX_XML_BYTES = 50_000_000  # a Word file is a zip: its text is capped once unpacked, not as sent


def load_docx(data: bytes, path: Path, source: str, title: str = "") -> Article:
    """A Word document's paragraphs (what a newsroom's press releases and drafts come as); its
    title from the document's properties, else as for plain text."""
    import io
    import zipfile
    from xml.etree import ElementTree

    def unpacked(archive: zipfile.ZipFile, name: str) -> bytes:
        with archive.open(name) as member:
            xml = member.read(_DOCX_MAX_XML_BYTES + 1)  # the size a zip declares may lie
        if len(xml) > _DOCX_MAX_XML_BYTES:
            raise BadInputError(f"{source}: too large once unpacked (over {_DOCX_MAX_XML_BYTES} bytes of text)")
        return xml

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            body = ElementTree.fromstring(unpacked(archive, "word/document.xml"))
            names = set(archive.namelist())
            properties = ElementTree.fromstring(unpacked(archive, "docProps/core.xml")) \
                if "docProps/core.xml" in names else None
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, EOFError, NotImplementedError) as exc:
        raise BadInputError(f"{source}: not a readable Word document ({exc.__class__.__name__})") from exc
    paragraphs = []
    for paragraph in body.iter(f"{_WORDML}p"):
        parts = [node.text or "" if node.tag == f"{_WORDML}t" else "\t" if node.tag == f"{_WORDML}tab" else "\n"
                 for node in paragraph.iter() if node.tag in (f"{_WORDML}t", f"{_WORDML}tab", f"{_WORDML}br")]
        paragraphs.append("".join(parts))
    text = "\n".join(paragraphs)
    stated = properties.findtext("{http://purl.org/dc/elements/1.1/}title") if properties is not None else ""
    if stated and stated.strip():  # the first paragraph then stays in the text, headline or not
        return _make_article(id=source, title=stated, text=text, source=source)
    return load_plain_text(text, path, source, title)


def article_from_record(record: object, source: str) -> Article:
    """A JSON record ``{title, text, url?, date?, author?, doc_id?, lang?}``: the evaluation docs' format."""
    if not isinstance(record, dict):
        raise BadInputError(f"{source}: a record must be a JSON object with a 'text' field")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadInputError(f"{source}: the record has no 'text'")
    url = str(record.get("url") or "")
    doc_id = str(record.get("doc_id") or record.get("id") or url or source)
    return _make_article(
        id=doc_id, title=str(record.get("title") or ""), text=text, source=source, url=url,
        date=str(record.get("date") or ""), lang=str(record.get("lang") or ""),
        extra={"author": str(record.get("author") or "")},
    )


def _parse_json(text: str, where: str, line_in_message: bool) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = f" at line {exc.lineno}" if line_in_message else ""
        raise BadInputError(f"{where}: invalid JSON ({exc.msg}{at})") from exc
    except RecursionError as exc:  # '[' * 100000: the decoder recurses once per level
        raise BadInputError(f"{where}: invalid JSON (nested too deeply)") from exc


def _records(items: Iterable[tuple[str, Any]], source: str,
             parse: Callable[[Any, str], object] = lambda record, where: record) -> list[Article]:
    """Articles from ``(where, item)`` pairs, each item parsed into a record; one that cannot be read
    fails alone (PartlyLoaded), or the whole file when none can."""
    articles: list[Article] = []
    failures: list[LoadFailure] = []
    for where, item in items:
        try:
            articles.append(article_from_record(parse(item, where), where))
        except BadInputError as exc:
            failures.append(LoadFailure(where, str(exc)))
    if not articles and not failures:
        raise BadInputError(f"{source}: the file holds no records")
    if failures and not articles:
        raise BadInputError(failures[0].reason if len(failures) == 1
                            else f"{source}: none of its {len(failures)} records can be read ({failures[0].reason})")
    if failures:
        raise PartlyLoaded(articles, failures)
    return articles


def load_json(text: str, source: str) -> list[Article]:
    data = _parse_json(text, source, line_in_message=True)
    records = data if isinstance(data, list) else [data]
    return _records(((f"{source}[{i}]" if len(records) > 1 else source, r) for i, r in enumerate(records)), source)


def load_jsonl(text: str, source: str) -> list[Article]:
    return _records(((f"{source}:{n}", line) for n, line in enumerate(text.splitlines(), 1) if line.strip()), source,
                    lambda line, where: _parse_json(line, where, line_in_message=False))


def load_bytes(data: bytes, name: str, source: str, url: str = "", title: str = "",
               charset: str = "") -> list[Article]:
    """Load one file's content, chosen by its name's suffix. ``title`` names an article whose
    content has no title of its own (a feed item's title, a URL's last segment) instead of ``name``;
    ``charset`` is the one its server declared (charset_normalizer reads a page's own <meta charset>)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise BadInputError(f"{source}: unsupported file type '{suffix or name}' (supported: {supported})")
    if suffix in PDF_SUFFIXES:
        if not data.startswith(b"%PDF"):
            raise BadInputError(f"{source}: not a PDF file")
        return [load_pdf(data, source, url, title)]
    if suffix in DOCX_SUFFIXES:
        article = load_docx(data, Path(name), source, title)
        return [replace(article, id=url, url=url) if url else article]
    text = decode_bytes(data, source, charset)
    if suffix in HTML_SUFFIXES:
        return [load_html(text, source, url, title)]
    if url and suffix in TEXT_SUFFIXES:
        return [replace(load_plain_text(text, Path(name), source, title), id=url, url=url)]
    if suffix in JSON_SUFFIXES:
        return load_json(text, source)
    if suffix in JSONL_SUFFIXES:
        return load_jsonl(text, source)
    if suffix in MARKDOWN_SUFFIXES:
        return [load_markdown(text, Path(name), source, title)]
    return [load_plain_text(text, Path(name), source, title)]


def load_file(path: Path, max_bytes: int) -> list[Article]:
    """Load one file; raises :class:`BadInputError` for anything unusable."""
    source = str(path.resolve())
    if not path.is_file():
        # /dev/null, a pipe, a socket: there, but no article; "no such file" would send the user looking
        raise BadInputError(f"{path}: not a regular file" if path.exists() else f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise BadInputError(f"{path}: too large ({size} bytes; the limit is {max_bytes})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"{path}: cannot be read ({exc.strerror})") from exc
    return load_bytes(data, path.name, source)


def walk(path: Path) -> Iterator[Path]:
    """Supported files under a folder, recursively, hidden files and folders left out."""
    for child in sorted(path.rglob("*")):
        rel = child.relative_to(path)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES:
            yield child


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named directly, and the supported files of folders; a missing path is bad input."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(walk(path))
        elif path.exists():
            files.append(path)
        else:
            raise BadInputError(f"{path}: no such file or folder")
    return files
