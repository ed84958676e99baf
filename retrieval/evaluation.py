"""``articlebot eval``: retrieval and answer quality on a docs/questions pair (see SPEC.md).

DOCS are ingested into a fresh temporary collection (under a temporary ``ARTICLEBOT_HOME`` unless
a Chroma server is configured, where the collection is dropped afterwards), every question is
asked, and the figures are computed as the contract defines them.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.documents import Article
from retrieval.errors import BadInputError
from retrieval.keyword import fold
from retrieval.loading import article_from_record
from retrieval.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    doc_id: str | None
    question: str
    answers: list[str]
    answerable: bool


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise BadInputError(f"{path}: no such file")
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise BadInputError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
    if not rows:
        raise BadInputError(f"{path}: no records")
    return rows


def read_questions(path: Path) -> list[EvalQuestion]:
    out = []
    for i, row in enumerate(read_jsonl(path)):
        if not isinstance(row, dict) or not row.get("question"):
            raise BadInputError(f"{path}: record {i + 1} has no 'question'")
        out.append(EvalQuestion(id=str(row.get("id", i)), doc_id=row.get("doc_id"), question=str(row["question"]),
                                answers=[str(a) for a in row.get("answers") or []],
                                answerable=bool(row.get("answerable", True))))
    return out


def contains_answer(answer: str, gold: list[str]) -> bool:
    folded = fold(answer)
    return any(fold(g).strip() and fold(g).strip() in folded for g in gold)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def scratch_settings(settings: Settings, tmp: Path) -> Settings:
    """Settings whose store lives in ``tmp`` (an evaluation leaves the user's store as it was), the
    joined GGUF reused instead of joined again. A Chroma server keeps its URL: there, the evaluation
    drops its temporary collection afterwards."""
    if settings.chroma_url:
        return settings
    if settings.models_dir.exists():
        (tmp / "models").symlink_to(settings.models_dir)
    return settings.model_copy(update={"home": tmp})


def read_eval_set(docs: Path, questions: Path) -> tuple[list[Article], list[EvalQuestion]]:
    """The articles of DOCS and the questions, those whose article is not among DOCS marked
    unanswerable: they cannot be answered from them (the half-split runs measure abstention so)."""
    articles = []
    for i, record in enumerate(read_jsonl(docs)):
        try:
            articles.append(article_from_record(record, f"{docs.name}:{i + 1}"))
        except BadInputError as exc:  # a junk record in a real set: skip it, say so, measure the rest
            log.warning("skipped: %s", exc)
    present = {a.id for a in articles}
    qs = [q if (q.doc_id is None or q.doc_id in present) else
          EvalQuestion(q.id, None, q.question, q.answers, False) for q in read_questions(questions)]
    return articles, qs


def evaluate(engine: Any, docs: Path, questions: Path, k: int | None, retrieval_only: bool,
             limit: int | None = None, progress: Callable[[int, int], None] | None = None,
             details: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the evaluation with ``engine`` (whose store is the temporary one).

    ``details`` receives one record per question: the figures say how often, the records say which
    questions failed and why, which is what one needs to improve them.
    """
    k = engine.check_k(k)
    if limit is not None and limit < 1:
        raise BadInputError("--limit must be at least 1")
    articles, qs = read_eval_set(docs, questions)
    qs = qs[:limit]
    if retrieval_only and not any(q.answerable and q.doc_id for q in qs):
        raise BadInputError(f"{questions}: no question names a doc_id of {docs.name}: no retrieval to measure")
    absent = sum(1 for q in qs if not q.answerable)
    if absent:  # by design in a half-split run; all of them is more likely the wrong pair of files
        log.warning("%d of %d questions have no article among the docs: left out of recall, counted as "
                    "unanswerable", absent, len(qs))
    collection = "eval-" + uuid.uuid4().hex[:12]
    engine.ingest_articles(articles, collection)
    try:
        return _ask_all(engine, collection, qs, k, retrieval_only, progress, details)
    finally:
        if engine.settings.chroma_url:
            engine.store.drop(collection)


def _ask_all(engine: Any, collection: str, qs: list[EvalQuestion], k: int, retrieval_only: bool,
             progress: Callable[[int, int], None] | None,
             details: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    search = engine.pipeline().search
    hits_at: dict[int, int] = {1: 0, 5: 0}
    rr_sum = 0.0
    answerable = [q for q in qs if q.answerable and q.doc_id]
    latencies: list[float] = []
    correct = graded = 0
    answered_answerable = abstained_unanswerable = unanswerable = 0
    for done, q in enumerate(qs, 1):
        started = time.perf_counter()
        record: dict[str, Any] = {"id": q.id, "question": q.question, "doc_id": q.doc_id, "answerable": q.answerable}
        if q.answerable and q.doc_id:
            hits = search.search(q.question, [collection], max(10, k))
            docs_ranked: list[str] = []
            for h in hits:
                doc = h.metadata.get("article_id")
                if doc not in docs_ranked:
                    docs_ranked.append(doc)
            for cutoff in hits_at:
                top_docs = {h.metadata.get("article_id") for h in hits[:cutoff]}
                hits_at[cutoff] += q.doc_id in top_docs
            rank = docs_ranked.index(q.doc_id) + 1 if q.doc_id in docs_ranked else None
            if rank is not None and rank <= 10:
                rr_sum += 1.0 / rank
            record["rank"] = rank
        if not retrieval_only:
            answer = engine.ask(q.question, collection, k=k)
            is_correct = (not answer.abstained) and contains_answer(answer.answer, q.answers)
            record.update(answer=answer.answer, abstained=answer.abstained, reason=answer.reason, gold=q.answers,
                          checks=answer.checks, correct=is_correct,
                          sources=list(dict.fromkeys(s.id for s in answer.sources)))
            if q.answerable:
                answered_answerable += not answer.abstained
                if q.answers:
                    graded += 1
                    correct += is_correct
            else:
                unanswerable += 1
                abstained_unanswerable += answer.abstained
        latencies.append((time.perf_counter() - started) * 1000)
        if details:
            details({**record, "latency_ms": round(latencies[-1], 1)})
        if progress:
            progress(done, len(qs))
    n_answerable = sum(1 for q in qs if q.answerable)

    def ratio(a: float, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {  # a figure with nothing to measure (no question's article among the docs) is null, not 0
        "questions": len(qs),
        "recall@1": ratio(hits_at[1], len(answerable)),
        "recall@5": ratio(hits_at[5], len(answerable)),
        "mrr@10": ratio(rr_sum, len(answerable)),
        "answer_accuracy": None if retrieval_only else ratio(correct, graded),
        "abstain_rate_unanswerable": None if retrieval_only else ratio(abstained_unanswerable, unanswerable),
        "answer_rate_answerable": None if retrieval_only else ratio(answered_answerable, n_answerable),
        "latency_ms": {"p50": round(statistics.median(latencies), 1) if latencies else 0.0,
                       "p95": round(percentile(latencies, 0.95), 1)},
    }
