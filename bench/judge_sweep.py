"""How the relevance judge's threshold splits present from absent questions, on any eval split.

For each question, the passages the pipeline would judge (``AnswerPipeline.judged``) are scored
once by the judge; a threshold lets a question through when any of them reaches it. Prints, per
threshold, how many questions whose article is present get through and how many whose article is
absent are stopped: what the judge alone does, before the answer and its checks. Used to check
``relevance_threshold`` on samples it was not chosen on (README, Quality). Needs the default local
LLM (about 1 s a judged passage on 2 cores).

Usage: python bench/judge_sweep.py DOCS.jsonl QUESTIONS.jsonl [THRESHOLD ...]
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _best_relevance(engine: Any, collection: str, qs: list[Any]) -> list[tuple[bool, float]]:
    """(present, the highest P("Yes") among the passages the pipeline would judge) per question."""
    pipeline = engine.pipeline()
    best = []
    for n, q in enumerate(qs, 1):
        judged = pipeline.judged(pipeline.search.search(q.question, [collection], engine.settings.k))
        best.append((q.answerable, max((pipeline.relevance(q.question, h) for h in judged), default=0.0)))
        print(f"\r{n}/{len(qs)}", end="", file=sys.stderr, flush=True)
    return best


def main() -> int:
    from retrieval.engine import Engine
    from retrieval.evaluation import read_eval_set, scratch_settings
    from retrieval.settings import get_settings

    docs, questions = Path(sys.argv[1]), Path(sys.argv[2])
    thresholds = [float(t) for t in sys.argv[3:]] or [0.55, 0.6, 0.65, 0.7, 0.75, 0.8]
    articles, qs = read_eval_set(docs, questions)
    with tempfile.TemporaryDirectory(prefix="articlebot-sweep-") as tmp:
        engine = Engine(scratch_settings(get_settings(), Path(tmp)))
        collection = "sweep-" + uuid.uuid4().hex[:12]
        engine.ingest_articles(articles, collection)
        try:
            best = _best_relevance(engine, collection, qs)
        finally:
            engine.store.drop(collection)  # a Chroma server keeps no trace; a scratch store goes anyway
    print(file=sys.stderr)
    present = [p for a, p in best if a]
    absent = [p for a, p in best if not a]
    print(f"{len(present)} questions present, {len(absent)} absent "
          f"(current threshold {engine.settings.relevance_threshold})")
    for t in thresholds:
        through = sum(p >= t for p in present)
        stopped = sum(p < t for p in absent)
        print(f"threshold {t:.2f}: present let through {through}/{len(present)}, "
              f"absent stopped {stopped}/{len(absent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
