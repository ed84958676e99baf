"""The feeds each Discord server follows, kept in SQLite under ARTICLEBOT_HOME so that a restart
resumes them (the articles themselves are in the store; this is only the list to poll)."""

from __future__ import annotations

from pathlib import Path

from retrieval.local_db import LocalDatabase

_SCHEMA = "CREATE TABLE IF NOT EXISTS follows (guild TEXT, url TEXT, created REAL, PRIMARY KEY (guild, url))"


class FeedFollows(LocalDatabase):
    """Thread-safe: commands run on the event loop, polls read it from a worker thread."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    def add(self, guild_id: int, url: str) -> bool:
        """False when the server already follows ``url``."""
        with self._lock:
            cursor = self._db.execute("INSERT OR IGNORE INTO follows VALUES (?, ?, julianday('now'))",
                                      (str(guild_id), url))
            return cursor.rowcount == 1

    def remove(self, guild_id: int, url: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM follows WHERE guild = ? AND url = ?",
                                    (str(guild_id), url)).rowcount == 1

    def of(self, guild_id: int) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT url FROM follows WHERE guild = ? ORDER BY created", (str(guild_id),))
            return [r[0] for r in rows]

    def all(self) -> list[tuple[int, str]]:
        with self._lock:
            return [(int(g), u) for g, u in self._db.execute("SELECT guild, url FROM follows ORDER BY created")]
