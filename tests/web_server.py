"""A small news site on 127.0.0.1 for the web-ingestion tests: pages, feeds, a PDF, and hostile answers."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

NAV = "<nav><ul><li><a href='/'>Accueil</a></li><li><a href='/sport'>Sport</a></li><li>Météo du jour</li></ul></nav>"
ADS = "<div class='ad'>PUBLICITÉ — Achetez maintenant, offre limitée, cliquez ici !</div>"
COOKIES = "<div id='cookie-banner'>Nous utilisons des cookies. Accepter tout / Refuser</div>"
FOOTER = "<footer>© 2016 Le Journal — Mentions légales — Abonnez-vous à notre lettre d'information</footer>"


def article_page(title: str, paragraphs: list[str], date: str = "2016-06-24", canonical: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    link = f"<link rel='canonical' href='{canonical}'>" if canonical else ""
    return (f"<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'><title>{title} | Le Journal</title>"
            f"<meta property='article:published_time' content='{date}'>{link}</head><body>{COOKIES}{NAV}{ADS}"
            f"<main><article><h1>{title}</h1><p class='byline'>Par L. M., le {date}</p>{body}</article></main>"
            f"{ADS}{FOOTER}</body></html>")


def minimal_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one line of text a page, written by hand (no PDF library needed)."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font_ref = 3 + 2 * len(pages)
    for i, text in enumerate(pages):
        content = f"BT /F1 12 Tf 50 700 Td ({text}) Tj ET".encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {font_ref} 0 R >> >> >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


Route = tuple[int, dict[str, str], bytes | Callable[[], bytes]]


class NewsSite:
    """Routes are (status, headers, body); tests change them between runs."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                path = urlsplit(self.path).path
                site.hits[path] = site.hits.get(path, 0) + 1
                if path == "/never":
                    time.sleep(30)
                    return
                if path == "/drip":  # a page that never ends: one byte every 0.2 s, each well within a timeout
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    try:
                        for _ in range(100000):
                            self.wfile.write(b"<")
                            self.wfile.flush()
                            time.sleep(0.2)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                status, headers, body = site.routes.get(path, (404, {"Content-Type": "text/plain"}, b"nope"))
                data = body() if callable(body) else body
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def html(self, path: str, page: str, charset: str = "utf-8") -> None:
        self.routes[path] = (200, {"Content-Type": f"text/html; charset={charset}"}, page.encode(charset))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def rss(items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid><pubDate>{d}</pubDate></item>"
                      for t, link, d in items)
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Le Journal</title>"
            f"<link>http://example.org</link><description>news</description>{entries}</channel></rss>").encode()


def atom(items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(f"<entry><title>{t}</title><link href='{link}'/><id>{link}</id><updated>{d}</updated></entry>"
                      for t, link, d in items)
    return ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Le Journal</title>"
            f"<id>urn:journal</id><updated>2016-06-25T00:00:00Z</updated>{entries}</feed>").encode()


def gzip_bomb(size: int) -> bytes:
    return gzip.compress(b"\0" * size, compresslevel=9)
