"""RSS and Atom feeds: each item's page ingested; a second run fetches only new or changed items.

What was seen of each feed is kept in ``ARTICLEBOT_HOME/feed-items.sqlite3`` (item → fingerprint);
an item that could not be fetched is not marked, so it is tried again on the next run.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import BadInputError
from retrieval.local_db import LocalDatabase

_SCHEMA = """CREATE TABLE IF NOT EXISTS items (
    feed TEXT, collection TEXT, key TEXT, fingerprint TEXT, PRIMARY KEY (feed, collection, key))"""


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


class FeedItems(LocalDatabase):
    """Fingerprints of the items dealt with, per feed URL and collection.

    An item is marked once ingested, and also once refused for what it holds (too long, no text, a
    page gone with HTTP 404), so that a refused item is not fetched again at every poll until it
    changes. Items that left the feed are forgotten at each read, so the file stays the size of the
    feeds. SQLite rather than one JSON file: an item marked costs one row, not a rewrite of
    everything, and ``articlebot watch`` and the bot can share an ``ARTICLEBOT_HOME``.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        self._import_json(path.with_name("feeds.json"))

    def _import_json(self, legacy: Path) -> None:
        """Take over what earlier versions kept in ``feeds.json``, so that upgrading fetches
        nothing twice; the file is removed once its items are in SQLite."""
        try:
            data = json.loads(legacy.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        rows = [(*scope.split(" ", 1)[::-1], key, fingerprint)
                for scope, items in (data.items() if isinstance(data, dict) else ())
                if " " in scope and isinstance(items, dict)
                for key, fingerprint in items.items()]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")
        legacy.unlink(missing_ok=True)

    def seen(self, feed: str, collection: str) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute("SELECT key, fingerprint FROM items WHERE feed = ? AND collection = ?",
                                    (feed, collection))
            return dict(rows.fetchall())

    def mark(self, feed: str, collection: str, key: str, fingerprint: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?)", (feed, collection, key, fingerprint))

    def forget(self, feed: str, collection: str, keys: set[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM items WHERE feed = ? AND collection = ? AND key = ?",
                                 [(feed, collection, key) for key in keys])
