"""Hybrid retrieval: dense (Chroma kNN) and BM25 keyword rankings fused by reciprocal rank.

Every returned hit carries its true cosine similarity to the question (keyword-only hits are
scored against their stored vectors), because abstention thresholds read that number.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.embeddings import ArticleEmbeddings
from retrieval.keyword import BM25Index
from retrieval.language import detect_language
from retrieval.settings import Settings
from retrieval.store import Hit, VectorStore

log = logging.getLogger(__name__)
RRF_K = 60


class KeywordIndexes:
    """BM25 indexes per collection, rebuilt when the collection's content changes."""

    def __init__(self) -> None:
        self._indexes: dict[str, tuple[tuple[int, Any], BM25Index]] = {}
        self._lock = threading.Lock()

    def get(self, store: VectorStore, name: str, coll: Any) -> BM25Index:
        stamp = (store.count(coll), (coll.metadata or {}).get("updated_at"))
        with self._lock:
            cached = self._indexes.get(name)
            if cached and cached[0] == stamp:
                return cached[1]
        ids, docs, metas = store.all_chunks(coll)
        texts = [f"{m.get('title', '')}\n{d}" for d, m in zip(docs, metas, strict=False)]
        index = BM25Index.build(ids, texts, [str(m.get("lang", "")) for m in metas])
        with self._lock:
            self._indexes[name] = (stamp, index)
        return index

    def invalidate(self, name: str) -> None:
        with self._lock:
            self._indexes.pop(name, None)


def rrf_fuse(rankings: list[tuple[list[str], float]], n: int) -> list[str]:
    """Reciprocal-rank fusion of several ranked id lists, each with a weight."""
    scores: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, chunk_id in enumerate(ids):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (RRF_K + rank + 1)
    return [cid for cid, _ in sorted(scores.items(), key=lambda kv: -kv[1])[:n]]


class HybridSearch:
    """Dense + keyword search over one or more collections (a server's own and a shared one)."""

    def __init__(self, store: VectorStore, embeddings: ArticleEmbeddings, settings: Settings,
                 keyword_indexes: KeywordIndexes | None = None) -> None:
        self.store = store
        self.embeddings = embeddings
        self.settings = settings
        self.keyword_indexes = keyword_indexes or KeywordIndexes()

    def search(self, question: str, collections: list[str], k: int,
               where: dict[str, Any] | None = None) -> list[Hit]:
        vector = self.embeddings.embed_query(question)
        n = max(self.settings.candidates, k)
        dense: list[Hit] = []
        colls = {}
        for name in collections:
            coll = self.store.collection(name, self.embeddings.name)
            colls[name] = coll
            dense.extend(self.store.query(coll, vector, n, where=where, collection_name=name))
        dense.sort(key=lambda h: -h.score)
        by_id = {h.id: h for h in dense}
        rankings: list[tuple[list[str], float]] = [([h.id for h in dense], 1.0)]
        if self.settings.hybrid and self.settings.keyword_weight > 0:
            keyword_ids: list[tuple[str, float, str]] = []
            lang = detect_language(question) if self.settings.keyword_same_language else ""
            for name, coll in colls.items():
                index = self.keyword_indexes.get(self.store, name, coll)
                keyword_ids.extend((cid, score, name) for cid, score in index.search(question, n, lang=lang))
            keyword_ids.sort(key=lambda t: -t[1])
            missing: dict[str, list[str]] = {}
            for cid, _, name in keyword_ids:
                if cid not in by_id:
                    missing.setdefault(name, []).append(cid)
            for name, ids in missing.items():
                for hit in self._score(colls[name], ids, vector, name):
                    by_id[hit.id] = hit
            if where:
                keyword_ids = [t for t in keyword_ids if t[0] in by_id]
            rankings.append(([cid for cid, _, _ in keyword_ids if cid in by_id], self.settings.keyword_weight))
        fused = rrf_fuse(rankings, k)
        return [by_id[cid] for cid in fused if cid in by_id]

    def _score(self, coll: Any, ids: list[str], vector: list[float], name: str) -> list[Hit]:
        res = coll.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        query = np.asarray(vector, dtype=np.float32)
        hits = []
        for cid, doc, meta, emb in zip(res["ids"], res["documents"], res["metadatas"], res["embeddings"],
                                       strict=False):
            e = np.asarray(emb, dtype=np.float32)
            score = float(e @ query / ((np.linalg.norm(e) * np.linalg.norm(query)) or 1.0))
            hits.append(Hit(id=cid, text=doc, metadata=meta, score=score, collection=name))
        return hits


class ArticleRetriever(BaseRetriever):
    """The hybrid search as a LangChain retriever, for use in any LangChain chain."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search: HybridSearch
    collections: list[str]
    k: int = 4

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(page_content=h.text, metadata={**h.metadata, "score": h.score, "chunk_id": h.id})
                for h in self.search.search(query, self.collections, self.k)]
