"""``articlebot repl``: ask questions in a loop, as a conversation (follow-ups are condensed)."""

from __future__ import annotations

import sys
from typing import Any


def run_repl(engine: Any, collection: str) -> int:
    from bot.cli import print_answer
    from retrieval.errors import ArticlebotError

    history: list[tuple[str, str]] = []
    print(f"articlebot REPL on collection '{collection}'. Ask a question; :new resets, :quit leaves.")
    while True:
        try:
            line = input("? ").strip()
        except EOFError:
            print()
            return 0
        if not line:
            continue
        if line in (":quit", ":q", ":exit"):
            return 0
        if line == ":new":
            history.clear()
            print("(new conversation)")
            continue
        try:
            answer = engine.ask(line, collection, history=history)
        except ArticlebotError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        print_answer(answer)
        timings = ", ".join(f"{k} {v:.0f} ms" for k, v in answer.timings_ms.items())
        print(f"({timings})")
        history.append((answer.standalone_question or line, answer.answer))
