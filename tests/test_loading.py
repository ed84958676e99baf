"""Loaders: every supported format read right, every bad input refused with a one-line reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.errors import BadInputError
from retrieval.loading import expand_paths, load_file

MAX = 10_000_000
FRENCH = "Le gouvernement d'union nationale de Fayez al-Serraj s'est installé à Tripoli, où il siège désormais."


def test_latin1_french_article_reads_right(tmp_path: Path) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(("Libye : un gouvernement à Tripoli\n" + FRENCH + " Élu, désigné, où, déjà.").encode("latin-1"))
    [article] = load_file(path, MAX)
    assert article.title == "Libye : un gouvernement à Tripoli"
    assert "installé à Tripoli" in article.text and "Élu, désigné, où, déjà" in article.text
    assert article.lang == "fr"


LEGACY = [
    ("cs", "cp1250", "Předseda vlády České republiky oznámil ve čtvrtek nová opatření pro podporu hospodářství."),
    ("cs", "iso-8859-2", "Předseda vlády České republiky oznámil ve čtvrtek nová opatření pro podporu hospodářství."),
    ("ro", "cp1250", "Preşedintele României a anunţat joi noi măsuri pentru economia ţării, după şedinţa guvernului."),
    ("tr", "cp1254", "Türkiye Cumhurbaşkanı perşembe günü yaptığı açıklamada ekonomi için yeni önlemler açıkladı."),
    ("fr", "cp1252", "Au cœur de la crise, les sœurs ont présenté leur œuvre à 15 € : « une réussite »."),
    ("it", "cp1252", "Il presidente del Consiglio ha annunciato giovedì nuove misure per l'economia: è una svolta."),
    ("ru", "cp1251", "Президент России заявил в четверг, что переговоры продолжатся на следующей неделе в Стамбуле."),
]


@pytest.mark.parametrize(("lang", "encoding", "text"), LEGACY, ids=[f"{lang}-{enc}" for lang, enc, _ in LEGACY])
def test_an_article_in_a_legacy_code_page_reads_right(tmp_path: Path, lang: str, encoding: str, text: str) -> None:
    """Czech, Romanian and Turkish were read as CP1252 ("Pøedseda", "Cumhurbaþkaný")."""
    path = tmp_path / "article.txt"
    path.write_bytes(text.encode(encoding))
    [article] = load_file(path, MAX)
    assert article.text == text and article.lang == lang


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16"])
def test_utf16_reads_right_with_or_without_a_byte_order_mark(tmp_path: Path, encoding: str) -> None:
    """Without the mark (Excel's "Unicode text"), such a file was refused as binary content."""
    text = "Libye : un gouvernement à Tripoli\n" + FRENCH + " Президент России заявил в четверг."
    path = tmp_path / "article.txt"
    path.write_bytes(text.encode(encoding))
    [article] = load_file(path, MAX)
    assert article.title == "Libye : un gouvernement à Tripoli"
    assert article.text == FRENCH + " Президент России заявил в четверг."


def test_binary_data_shaped_like_utf16_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "samples.txt"
    path.write_bytes(bytes(b for i in range(4000) for b in (1 + i % 30, 0)))  # small 16-bit integers
    with pytest.raises(BadInputError, match="binary content"):
        load_file(path, MAX)


def test_text_without_headline_takes_title_from_file_name(tmp_path: Path) -> None:
    path = tmp_path / "libye-2016.txt"
    path.write_text(FRENCH, encoding="utf-8")
    [article] = load_file(path, MAX)
    assert article.title == "libye 2016"
    assert article.text == FRENCH


def test_html_keeps_the_article_and_drops_menus_and_footer(tmp_path: Path) -> None:
    body = " ".join([FRENCH] * 4)
    html = f"""<html><head><title>Libye : le gouvernement d'union</title></head><body>
    <nav><ul><li>Accueil</li><li>Sport</li><li>Météo du jour</li></ul></nav>
    <article><h1>Libye : le gouvernement d'union</h1><p>{body}</p><p>{body}</p></article>
    <footer>Copyright 2016 Journal — Mentions légales — Abonnez-vous à notre newsletter</footer>
    </body></html>"""
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    [article] = load_file(path, MAX)
    assert "Fayez al-Serraj" in article.text
    assert "Mentions légales" not in article.text and "Météo du jour" not in article.text
    assert "gouvernement d'union" in article.title


def test_markdown_front_matter_and_heading(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text(f"---\ndate: 2016-06-24\nurl: https://example.org/libye\n---\n# Libye\n\n**{FRENCH}**\n",
                    encoding="utf-8")
    [article] = load_file(path, MAX)
    assert article.title == "Libye"
    assert article.date == "2016-06-24" and article.url == "https://example.org/libye"
    assert article.id == "https://example.org/libye"
    assert "**" not in article.text


def test_json_and_jsonl_records(tmp_path: Path) -> None:
    record = {"doc_id": "a1", "title": "Titre", "text": FRENCH, "url": "https://example.org/a1", "date": "2016-06-24"}
    (tmp_path / "one.json").write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "many.jsonl").write_text("\n".join(json.dumps({**record, "doc_id": f"d{i}"}) for i in range(3)),
                                         encoding="utf-8")
    [single] = load_file(tmp_path / "one.json", MAX)
    assert (single.id, single.title, single.date, single.url) == ("a1", "Titre", "2016-06-24", "https://example.org/a1")
    assert [a.id for a in load_file(tmp_path / "many.jsonl", MAX)] == ["d0", "d1", "d2"]


def test_folders_are_walked_recursively_skipping_hidden_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.txt").write_text(FRENCH)
    (tmp_path / "top.md").write_text(FRENCH)
    (tmp_path / ".hidden.txt").write_text(FRENCH)
    (tmp_path / "NOTICE").write_text("licence text")
    assert [p.name for p in expand_paths([tmp_path])] == ["deep.txt", "top.md"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"   \n\n  ", "empty"),
        ("binary.txt", bytes(range(256)) * 40, "binary"),
        ("image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "unsupported file type"),
        ("broken.json", b'{"title": "x", "text": ', "invalid JSON"),
        ("notext.json", b'{"title": "x"}', "no 'text'"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("deep.jsonl", b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "nested too deeply"),
        ("fake.pdf", b"this is not a pdf at all", "not a PDF"),
        ("tiny.txt", b"ok", "too short"),
    ],
)
def test_bad_files_are_refused_with_a_one_line_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadInputError) as info:
        load_file(path, MAX)
    message = str(info.value)
    assert reason in message and "\n" not in message


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_text(FRENCH * 100)
    with pytest.raises(BadInputError, match="too large"):
        load_file(path, max_bytes=1000)


def test_missing_path_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such file"):
        expand_paths([tmp_path / "nope.txt"])
    with pytest.raises(BadInputError, match="/dev/null: not a regular file"):  # it exists: not "no such file"
        load_file(Path("/dev/null"), max_bytes=1000)


def _pdf(text: str, user_password: str | None = None) -> bytes:
    """A one-page PDF holding ``text`` (none: a blank page, as a scan's text layer is), encrypted if asked."""
    import io

    from pypdf import PdfReader, PdfWriter

    from tests.web_server import minimal_pdf

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(minimal_pdf([text])))) if text else PdfWriter()
    if not text:
        writer.add_blank_page(612, 792)
    if user_password is not None:
        writer.encrypt(user_password, owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


SERRAJ_ASCII = "Le gouvernement d'union nationale de Fayez al-Serraj s'est installe a Tripoli dans une base navale."


@pytest.mark.parametrize(("content", "reason"), [
    (_pdf(SERRAJ_ASCII, user_password="secret"), "password-protected"),
    (_pdf(""), "holds no text (a scanned document?"),
    (_pdf(SERRAJ_ASCII)[:300], "not a readable PDF"),
], ids=["password", "scan", "truncated"])
def test_unreadable_pdfs_say_why(tmp_path: Path, content: bytes, reason: str,
                                 caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    with pytest.raises(BadInputError) as info:
        load_file(path, MAX)
    assert reason in str(info.value) and "\n" not in str(info.value)
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]  # the refusal is the one line


def test_a_pdf_locked_only_against_editing_is_read(tmp_path: Path) -> None:
    path = tmp_path / "locked.pdf"
    path.write_bytes(_pdf(SERRAJ_ASCII, user_password=""))  # opens without a password, as readers do
    [article] = load_file(path, MAX)
    assert "Fayez al-Serraj" in article.text


def _docx(paragraphs: list[str], title: str = "", document_xml: bytes | None = None) -> bytes:
    """A Word file as Word writes one: a zip of XML parts (the parts articlebot reads, and the content types)."""
    import io
    import zipfile
    from xml.sax.saxutils import escape

    body = "".join(f"<w:p><w:r><w:t xml:space='preserve'>{escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<?xml version='1.0'?><Types xmlns='http://schemas.openxmlformats."
                         "org/package/2006/content-types'/>")
        archive.writestr("word/document.xml", document_xml or (
            "<?xml version='1.0' encoding='UTF-8'?><w:document xmlns:w='http://schemas.openxmlformats.org/"
            f"wordprocessingml/2006/main'><w:body>{body}</w:body></w:document>").encode())
        if title:
            archive.writestr("docProps/core.xml", "<?xml version='1.0'?><cp:coreProperties xmlns:cp='http://schemas."
                             "openxmlformats.org/package/2006/metadata/core-properties' xmlns:dc='http://purl.org/dc/"
                             f"elements/1.1/'><dc:title>{escape(title)}</dc:title></cp:coreProperties>")
    return out.getvalue()


def test_a_word_document_reads_as_an_article(tmp_path: Path) -> None:
    path = tmp_path / "communique.docx"
    path.write_bytes(_docx(["Communiqué du gouvernement d'union", FRENCH, "Tripoli, le 24 juin 2016."],
                           title="Libye : le gouvernement s'installe"))
    [article] = load_file(path, MAX)
    assert article.title == "Libye : le gouvernement s'installe" and article.lang == "fr"
    assert "Fayez al-Serraj s'est installé à Tripoli" in article.text and "le 24 juin 2016" in article.text
    assert article.text.startswith("Communiqué du gouvernement d'union")  # kept: the title is another
    untitled = tmp_path / "note.docx"
    untitled.write_bytes(_docx(["Communiqué du gouvernement d'union", FRENCH]))
    assert load_file(untitled, MAX)[0].title == "Communiqué du gouvernement d'union"  # its headline
    assert untitled in expand_paths([tmp_path])  # a folder's Word files are ingested with the rest


@pytest.mark.parametrize(("content", "reason"), [
    (b"PK\x03\x04 this is no zip", "not a readable Word document"),
    (_docx([], document_xml=b"<w:document" + b" " * 60_000_000), "too large once unpacked"),  # a zip bomb
], ids=["not-a-zip", "bomb"])
def test_bad_word_documents_are_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.docx"
    path.write_bytes(content)
    with pytest.raises(BadInputError, match=reason):
        load_file(path, MAX)
