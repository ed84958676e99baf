"""The feedback log: every answer given, and the 👍/👎 votes on it (SQLite under ARTICLEBOT_HOME).

Answers are recorded when sent, votes when cast, so that an export holds the question, the
answer, its sources and the prompt that produced it — what someone tuning prompts needs.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from retrieval.answering import Answer
from retrieval.local_db import LocalDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, created REAL, scope TEXT, user TEXT, question TEXT, answer TEXT,
    abstained INTEGER, sources TEXT, prompt TEXT
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT, user TEXT, vote INTEGER, created REAL, PRIMARY KEY (answer_id, user)
);
"""


class FeedbackLog(LocalDatabase):
    """Thread-safe: the bot records from worker threads and the event loop alike."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    def record_answer(self, answer: Answer, scope: str = "", user: str = "") -> str:
        answer_id = uuid.uuid4().hex[:16]
        sources = json.dumps([s.as_json() for s in answer.sources], ensure_ascii=False)
        with self._lock:
            self._db.execute("INSERT INTO answers VALUES (?,?,?,?,?,?,?,?,?)",
                             (answer_id, time.time(), scope, user, answer.question, answer.answer,
                              int(answer.abstained), sources, answer.prompt))
        return answer_id

    def vote(self, answer_id: str, user: str, up: bool) -> bool:
        """Store (or change) a user's vote; False when the answer is unknown."""
        with self._lock:
            if self._db.execute("SELECT 1 FROM answers WHERE id=?", (answer_id,)).fetchone() is None:
                return False
            self._db.execute("INSERT OR REPLACE INTO votes VALUES (?,?,?,?)",
                             (answer_id, user, 1 if up else -1, time.time()))
        return True

    def votes(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT v.created, v.vote, v.user, a.scope, a.question, a.answer, a.sources, a.prompt, a.id "
                "FROM votes v JOIN answers a ON a.id = v.answer_id ORDER BY v.created").fetchall()
        return [{"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r[0])), "vote": "up" if r[1] > 0 else "down",
                 "user": r[2], "scope": r[3], "question": r[4], "answer": r[5], "sources": json.loads(r[6]),
                 "prompt": r[7], "answer_id": r[8]} for r in rows]
