"""The last turns of each thread's conversation, on disk: a follow-up asked after the bot restarted
(a deploy, a crash) is still read with the questions and answers before it."""

from __future__ import annotations

import time
from pathlib import Path

from retrieval.local_db import LocalDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (thread INTEGER, n INTEGER, question TEXT, answer TEXT, created REAL,
                                  PRIMARY KEY (thread, n));
"""
# A thread untouched for this long is forgotten when the bot starts: Discord archives idle threads
# after a week at most, and a follow-up a month later is a new question.
_KEEP_S = 30 * 24 * 3600


class Conversations(LocalDatabase):
    """At most ``max_turns`` (question, answer) pairs a thread; the question as the engine read it."""

    def __init__(self, path: Path, max_turns: int = 6) -> None:
        super().__init__(path, _SCHEMA)
        self.max_turns = max_turns
        with self._lock:
            self._db.execute("DELETE FROM turns WHERE thread IN (SELECT thread FROM turns GROUP BY thread "
                             "HAVING max(created) < ?)", (time.time() - _KEEP_S,))

    def turns(self, thread_id: int) -> list[tuple[str, str]]:
        with self._lock:
            rows = self._db.execute("SELECT question, answer FROM turns WHERE thread = ? ORDER BY n", (thread_id,))
            return [(q, a) for q, a in rows]

    def add(self, thread_id: int, question: str, answer: str) -> None:
        with self._lock:
            (last,) = self._db.execute("SELECT coalesce(max(n), 0) FROM turns WHERE thread = ?",
                                       (thread_id,)).fetchone()
            self._db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?)",
                             (thread_id, last + 1, question, answer, time.time()))
            self._db.execute("DELETE FROM turns WHERE thread = ? AND n <= ?", (thread_id, last + 1 - self.max_turns))
