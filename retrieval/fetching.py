"""Fetching a URL safely: the bot's ``/ingest`` must not become a way into the host's network.

Every hop of a redirect is checked: the host must resolve only to public addresses (unless
``ARTICLEBOT_ALLOW_PRIVATE_URLS``), the body is capped *after* decompression, the content type
must be one articlebot reads, and every failure is a one-line :class:`BadInputError`.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlparse

from retrieval.errors import BadInputError

MAX_REDIRECTS = 5
READABLE_TYPES = {
    "text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt", "text/markdown": ".md",
    "application/pdf": ".pdf", "application/json": ".json",
    "application/rss+xml": ".feed", "application/atom+xml": ".feed", "application/xml": ".feed",
    "text/xml": ".feed", "application/rdf+xml": ".feed",
}


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str
    suffix: str
    data: bytes


def _check_host(url: str, allow_private: bool) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BadInputError(f"{url}: only http(s) URLs can be ingested")
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BadInputError(f"{url}: the host cannot be resolved") from exc
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise BadInputError(
                f"{url}: refused, it points to a private or local address ({address}); "
                "set ARTICLEBOT_ALLOW_PRIVATE_URLS=true to allow it")


def fetch(url: str, *, allow_private: bool, timeout_s: float, max_bytes: int) -> Fetched:
    import httpx

    current = url
    with httpx.Client(follow_redirects=False, timeout=httpx.Timeout(timeout_s),
                      headers={"User-Agent": "articlebot/0.1 (+news question answering)"}) as client:
        for _ in range(MAX_REDIRECTS + 1):
            _check_host(current, allow_private)
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        if not location:
                            raise BadInputError(f"{current}: a redirect without a target")
                        current = urljoin(current, location)
                        continue
                    if response.status_code >= 400:
                        raise BadInputError(f"{current}: the server answered HTTP {response.status_code}")
                    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
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
                    return Fetched(str(response.url), content_type, suffix, bytes(body))
            except httpx.TimeoutException as exc:
                raise BadInputError(f"{current}: no answer within {timeout_s:.0f} s") from exc
            except httpx.HTTPError as exc:
                raise BadInputError(f"{current}: cannot be fetched ({type(exc).__name__})") from exc
    raise BadInputError(f"{url}: more than {MAX_REDIRECTS} redirects")
