"""Fetching a URL safely: the bot's ``/ingest`` must not become a way into the host's network.

Every hop of a redirect is checked: the host must resolve only to public addresses (unless
``ARTICLEBOT_ALLOW_PRIVATE_URLS``), the body is capped *after* decompression, the content type
must be one articlebot reads, and every failure is a one-line :class:`BadInputError`, an
:class:`UnreachableError` where trying again later may succeed (no answer, a server error).

The address check and the connection use one and the same lookup: the connection goes to the
address that was checked. Resolving twice (check, then let the HTTP client resolve again) would let
a DNS server answer a public address to the check and a loopback one a moment later (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlparse

import httpcore
import httpx

from retrieval.errors import BadInputError, UnreachableError

MAX_REDIRECTS = 5
READABLE_TYPES = {
    "text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt", "text/markdown": ".md",
    "application/pdf": ".pdf", "application/json": ".json",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/rss+xml": ".feed", "application/atom+xml": ".feed", "application/xml": ".feed",
    "text/xml": ".feed", "application/rdf+xml": ".feed",
}


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str
    suffix: str
    data: bytes
    charset: str = ""  # as the server declared it ('' when it did not)


# What a user can do about the answers sites give most.
_STATUS_HINTS = {
    401: " (the page needs a login: save it from your browser and ingest the file)",
    403: " (the site refuses automated readers: save the page from your browser and ingest the file)",
    404: " (no such page)", 410: " (the page was removed)",
    429: " (too many requests: try again later)",
}


def charset_of(content_type: str) -> str:
    """The charset a Content-Type names ('text/html; charset=ISO-8859-2' → 'ISO-8859-2'; '' if none)."""
    found = re.search(r";\s*charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type or "", re.I)
    return found[1] if found else ""


def _check_scheme(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BadInputError(f"{url}: only http(s) URLs can be ingested")


class _Refused(Exception):
    """Raised by the address check, which knows the host but not the URL; :func:`fetch` names the URL."""


class _Unresolved(_Refused):
    """No address for the host: perhaps for now only (a DNS failure)."""


def _resolve(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses ``host`` resolves to, all of them public unless ``allow_private``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _Unresolved("the host cannot be resolved") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for text in addresses:
            address = ipaddress.ip_address(text)
            if not address.is_global or address.is_multicast:
                raise _Refused(
                    f"refused, it points to a private or local address ({address}); "
                    "set ARTICLEBOT_ALLOW_PRIVATE_URLS=true to allow it")
    return addresses


class _CheckedBackend(httpcore.SyncBackend):
    """Connects only to addresses :func:`_resolve` checked, in the same lookup (see the module's doc).
    TLS still names the host (httpcore passes the origin's name for SNI and certificate checks)."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        *others, last = _resolve(host, port, self.allow_private)  # getaddrinfo answers one or raises
        for address in others:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue  # the next address, as a browser would
        return super().connect_tcp(last, port, timeout, local_address, socket_options)


class _CheckedTransport(httpx.HTTPTransport):
    def __init__(self, allow_private: bool) -> None:
        ssl_context = httpx.create_ssl_context()  # loading the CA bundle costs ~40 ms: once, for both pools
        super().__init__(verify=ssl_context)
        # httpx takes no network backend of its own: its connection pool is rebuilt with one. (A client
        # given its own transport also ignores HTTP(S)_PROXY, which would resolve names unchecked.)
        # tests/test_web.py's DNS-rebinding test fails if this stops taking effect.
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=_CheckedBackend(allow_private))


def fetch(url: str, *, allow_private: bool, timeout_s: float, max_bytes: int, deadline_s: float = 60.0) -> Fetched:
    """``timeout_s`` bounds each wait (connecting, each read); ``deadline_s`` the whole download, so
    that a server sending a byte every few seconds cannot hold a worker for hours."""
    current = url
    deadline = time.monotonic() + deadline_s

    def check_deadline() -> None:
        if time.monotonic() > deadline:
            raise UnreachableError(
                f"{current}: the download took longer than {deadline_s:.0f} s (ARTICLEBOT_FETCH_DEADLINE_S)")
    with httpx.Client(follow_redirects=False, timeout=httpx.Timeout(timeout_s), trust_env=False,
                      transport=_CheckedTransport(allow_private),
                      headers={"User-Agent": "articlebot/0.1 (+news question answering)"}) as client:
        for _ in range(MAX_REDIRECTS + 1):
            _check_scheme(current)
            check_deadline()
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        if not location:
                            raise BadInputError(f"{current}: a redirect without a target")
                        current = urljoin(current, location)
                        continue
                    if response.status_code >= 400:
                        hint = _STATUS_HINTS.get(response.status_code, "")
                        failure = f"{current}: the server answered HTTP {response.status_code}{hint}"
                        if response.status_code >= 500 or response.status_code in (408, 429):
                            raise UnreachableError(failure)
                        raise BadInputError(failure)
                    header = response.headers.get("content-type", "")
                    content_type = header.split(";")[0].strip().lower()
                    suffix = READABLE_TYPES.get(content_type)
                    if suffix is None:
                        raise BadInputError(f"{current}: unsupported content type '{content_type or 'none'}'")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise BadInputError(f"{current}: too large ({declared} bytes; the limit is {max_bytes})")
                    body = bytearray()
                    for block in response.iter_bytes():  # decoded bytes: a gzip bomb hits the cap too
                        body.extend(block)
                        if len(body) > max_bytes:
                            raise BadInputError(f"{current}: too large (over {max_bytes} bytes)")
                        check_deadline()
                    return Fetched(str(response.url), content_type, suffix, bytes(body), charset_of(header))
            except _Refused as exc:
                kind = UnreachableError if isinstance(exc, _Unresolved) else BadInputError
                raise kind(f"{current}: {exc}") from exc
            except httpx.TimeoutException as exc:
                raise UnreachableError(f"{current}: no answer within {timeout_s:.0f} s") from exc
            except httpx.HTTPError as exc:
                raise UnreachableError(f"{current}: cannot be fetched ({type(exc).__name__})") from exc
    raise BadInputError(f"{url}: more than {MAX_REDIRECTS} redirects")
