"""Benchmarks (not tests): ingest and encoding throughput, retrieval latency against its floor,
cold start of ``articlebot ask``, peak memory. Prints a readable report, then one JSON line.

Figures are compared within one run: the machine's speed drifts between runs.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parent.parent
EVAL = Path(os.environ.get("ARTICLEBOT_EVAL_DIR", REPO.parent / "shared" / "eval"))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def scale_figures(engine: Any, texts: list[str], questions: list[str]) -> dict[str, float]:
    """Retrieval latency at 1k, 10k and 100k chunks: the real chunks' texts and vectors, repeated
    with a little noise on the vectors (encoding 100k chunks for real would take hours here); and
    the time to list the newest articles ("What's new?"), five chunks an article, each dated."""
    import datetime as dt

    import numpy as np

    from retrieval.latest import newest_articles

    rng = np.random.default_rng(0)
    base = np.asarray(engine.embeddings.embed_documents(texts), dtype=np.float32)
    search = engine.pipeline().search
    figures: dict[str, float] = {}
    for size in (1_000, 10_000, 100_000):
        name = f"scale-{size}"
        coll = engine.store.collection(name, engine.embeddings.name, create=True)
        for start in range(0, size, 5000):
            idx = np.arange(start, min(size, start + 5000))
            vectors = base[idx % len(base)] + rng.normal(0, 0.01, (len(idx), base.shape[1])).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            coll.add(ids=[f"c{i}" for i in idx], embeddings=vectors.tolist(),
                     documents=[texts[i % len(texts)] for i in idx],
                     metadatas=[{"article_id": f"a{i // 5}", "article_hash": "h", "title": f"article {i // 5}",
                                 "lang": "es", "n_chunks": 5, "chunk_index": int(i % 5),
                                 "date": (dt.date(2015, 1, 1) + dt.timedelta(days=int(i // 5) % 3650)).isoformat()}
                                for i in idx])
        search.search(questions[0], [name], engine.settings.k)  # the keyword index is built once, then cached
        times = []
        for q in questions:
            t = time.perf_counter()
            search.search(q, [name], engine.settings.k)
            times.append((time.perf_counter() - t) * 1000)
        figures[f"retrieve_p50_ms_{size // 1000}k"] = round(statistics.median(times), 1)
        listing = []
        for _ in range(5):
            t = time.perf_counter()
            newest_articles(engine.store, engine.embeddings.name, [name], engine.settings.k)
            listing.append((time.perf_counter() - t) * 1000)
        figures[f"latest_p50_ms_{size // 1000}k"] = round(statistics.median(listing), 1)
        engine.store.drop(name)
    return figures


def main() -> int:
    from retrieval.engine import Engine
    from retrieval.evaluation import read_jsonl, read_questions
    from retrieval.loading import article_from_record
    from retrieval.settings import Settings

    docs_path = EVAL / "xquad" / "docs.es.jsonl"
    questions = [q.question for q in read_questions(EVAL / "xquad" / "questions.en.jsonl")][:100]
    articles = [article_from_record(r, f"doc{i}") for i, r in enumerate(read_jsonl(docs_path))]
    with tempfile.TemporaryDirectory() as home:
        engine = Engine(Settings(home=Path(home), _env_file=None), llm=None)  # type: ignore[call-arg]
        chunks = [c for a in articles for c in engine.chunk(a)]
        texts = [c.embedding_text() for c in chunks]
        engine.embeddings.embed_documents(texts[:4])  # load the model outside the timings
        batch = engine.settings.embedding_batch_size
        started = time.perf_counter()
        for i in range(0, len(texts), batch):
            engine.embeddings.embed_documents(texts[i:i + batch])
        encode_s = time.perf_counter() - started
        started = time.perf_counter()
        report = engine.ingest_articles(articles, "bench")
        ingest_s = time.perf_counter() - started

        search = engine.pipeline().search
        search.search(questions[0], ["bench"], engine.settings.k)  # build the keyword index once
        retrieve = []
        for q in questions:
            t = time.perf_counter()
            search.search(q, ["bench"], engine.settings.k)
            retrieve.append((time.perf_counter() - t) * 1000)
        coll = engine.store.collection("bench", engine.embeddings.name)
        floor = []
        for q in questions:
            t = time.perf_counter()
            coll.query(query_embeddings=[engine.embeddings.embed_query(q)], n_results=engine.settings.k)
            floor.append((time.perf_counter() - t) * 1000)

        scale = scale_figures(engine, texts, questions[:30])

        env = {**os.environ, "ARTICLEBOT_HOME": home, "ARTICLEBOT_LLM_BACKEND": "extractive"}
        subprocess.run([sys.executable, "-m", "bot.cli", "ingest", "--collection", "default",
                        str(REPO / "samples" / "libye-2016.txt")], env=env, check=True, capture_output=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot.cli", "ask", "who leads the unity government?"], env=env,
                       check=True, capture_output=True)
        cold_s = time.perf_counter() - started

    figures = {
        "chunks": len(chunks),
        "ingest_chunks_per_s": round(report.chunks_added / ingest_s, 1),
        "encode_chunks_per_s": round(len(texts) / encode_s, 1),
        "retrieve_p50_ms": round(statistics.median(retrieve), 1),
        "retrieve_p95_ms": round(_percentile(retrieve, 0.95), 1),
        "floor_p50_ms": round(statistics.median(floor), 1),
        "ask_cold_start_s": round(cold_s, 2),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **scale,
    }
    print(f"corpus: {docs_path.name}, {len(articles)} articles, {len(chunks)} chunks; {len(questions)} queries")
    for key, value in figures.items():
        print(f"  {key:22} {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
