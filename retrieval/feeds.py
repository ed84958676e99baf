"""RSS and Atom feeds: each item's page ingested; a second run fetches only new or changed items.

What was seen of each feed is kept in ``ARTICLEBOT_HOME/feeds.json`` (item → fingerprint), written
atomically and only for items that were ingested, so a failed item is retried on the next run.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import BadInputError


@dataclass(frozen=True)
class FeedItem:
    key: str
    link: str
    title: str
    date: str
    content: str
    fingerprint: str


def _iso(struct: time.struct_time | None) -> str:
    return time.strftime("%Y-%m-%d", struct) if struct else ""


def parse_feed(data: bytes, url: str) -> tuple[str, list[FeedItem]]:
    """(feed title, items); raises BadInputError when the bytes are not an RSS or Atom feed."""
    import feedparser

    parsed = feedparser.parse(data, sanitize_html=True, resolve_relative_uris=True, response_headers={
        "content-location": url})
    if not parsed.entries and (parsed.bozo or not parsed.feed):
        raise BadInputError(f"{url}: not a readable RSS or Atom feed")
    items = []
    for entry in parsed.entries:
        link = str(entry.get("link") or "")
        key = str(entry.get("id") or link or entry.get("title") or "")
        if not key:
            continue
        content = ""
        if entry.get("content"):
            content = str(entry["content"][0].get("value") or "")
        content = content or str(entry.get("summary") or "")
        content = html.unescape(re.sub(r"<[^>]+>", " ", content))
        updated = entry.get("updated_parsed") or entry.get("published_parsed")
        stamp = (str(entry.get("updated") or entry.get("published") or "") + "\n" + str(entry.get("title") or "")
                 + "\n" + hashlib.sha256(content.encode()).hexdigest())
        items.append(FeedItem(key=key, link=link, title=str(entry.get("title") or ""), date=_iso(updated),
                              content=content, fingerprint=hashlib.sha256(stamp.encode()).hexdigest()[:24]))
    return str(parsed.feed.get("title") or url), items


class FeedState:
    """Fingerprints of the items already ingested, per feed URL and collection."""

    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def seen(self, feed: str, collection: str) -> dict[str, str]:
        with self._lock:
            return dict(self._read().get(f"{collection} {feed}", {}))

    def mark(self, feed: str, collection: str, key: str, fingerprint: str) -> None:
        with self._lock:
            data = self._read()
            data.setdefault(f"{collection} {feed}", {})[key] = fingerprint
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
