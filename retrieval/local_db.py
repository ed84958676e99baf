"""The small SQLite files under ARTICLEBOT_HOME (feedback, a Discord server's followed feeds, thread
conversations), opened one way: usable from the event loop and worker threads alike, each statement
committed at once (nothing left in an open transaction for a crash to lose), and WAL, so that
reading never waits for writing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class LocalDatabase:
    """Subclasses run their statements on ``self._db`` while holding ``self._lock``."""

    def __init__(self, path: Path, schema: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(schema)

    def close(self) -> None:
        with self._lock:
            self._db.close()
