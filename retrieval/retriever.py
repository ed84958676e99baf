"""Hybrid retrieval: dense (Chroma kNN) and BM25 keyword rankings fused by reciprocal rank.

Every returned hit carries its true cosine similarity to the question (keyword-only hits are
scored against their stored vectors), because abstention thresholds read that number.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.embeddings import ArticleEmbeddings
from retrieval.keyword import BM25Index
from retrieval.language import detect_language
from retrieval.query_enhancement import Translator, target_languages
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


def rrf_fuse(rankings: list[tuple[list[str], float]], n: int,
             ranks: list[tuple[dict[str, float], float]] | None = None) -> list[str]:
    """Reciprocal-rank fusion of ranked id lists (and of explicit ranks), each with a weight."""
    scores: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, chunk_id in enumerate(ids):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (RRF_K + rank + 1)
    for by_id, weight in ranks or []:
        for chunk_id, rank in by_id.items():
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (RRF_K + rank + 1)
    return [cid for cid, _ in sorted(scores.items(), key=lambda kv: -kv[1])[:n]]


def recency_ranks(hits: list[Hit]) -> dict[str, float]:
    """Rank by publication day, newest 0; undated hits get the average rank, so that recency neither
    favours nor drops them."""
    dated = sorted((h for h in hits if h.metadata.get("date_day") is not None),
                   key=lambda h: -int(h.metadata["date_day"]))
    if not dated:
        return {}
    ranks = {h.id: float(i) for i, h in enumerate(dated)}
    average = (len(dated) - 1) / 2
    ranks.update({h.id: average for h in hits if h.id not in ranks})
    return ranks


class HybridSearch:
    """Dense + keyword search over one or more collections (a server's own and a shared one)."""

    def __init__(self, store: VectorStore, embeddings: ArticleEmbeddings, settings: Settings,
                 keyword_indexes: KeywordIndexes | None = None, translator: Translator | None = None) -> None:
        self.store = store
        self.embeddings = embeddings
        self.settings = settings
        self.keyword_indexes = keyword_indexes or KeywordIndexes()
        self.translator = translator

    def search(self, question: str, collections: list[str], k: int,
               where: dict[str, Any] | None = None) -> list[Hit]:
        vector = self.embeddings.embed_query(question)
        n = max(self.settings.candidates, k)
        colls = {name: self.store.collection(name, self.embeddings.name) for name in collections}
        dense: list[Hit] = []
        for name, coll in colls.items():
            dense.extend(self.store.query(coll, vector, n, where=where, collection_name=name))
        dense.sort(key=lambda h: -h.score)
        by_id = {h.id: h for h in dense}
        rankings: list[tuple[list[str], float]] = [([h.id for h in dense], 1.0)]
        if self.settings.hybrid and self.settings.keyword_weight > 0:
            lang = detect_language(question) if self.settings.keyword_same_language else ""
            indexes = {name: self.keyword_indexes.get(self.store, name, coll) for name, coll in colls.items()}
            keyword = self._keyword_ranking(indexes, question, n, lang)
            weighted = [(keyword, self.settings.keyword_weight)]
            weighted += [(r, self.settings.translation_weight)
                         for r in self._translated_rankings(question, lang, indexes, n)]
            for ranking, weight in weighted:
                self._add_scores(ranking, by_id, colls, vector, where)
                rankings.append(([cid for cid, _ in ranking if cid in by_id], weight))
        recency = [(recency_ranks(list(by_id.values())), self.settings.recency_weight)]
        fused = rrf_fuse(rankings, k, recency if self.settings.recency_weight > 0 else None)
        return [by_id[cid] for cid in fused if cid in by_id]

    @staticmethod
    def _keyword_ranking(indexes: dict[str, BM25Index], text: str, n: int, lang: str) -> list[tuple[str, str]]:
        """(chunk id, collection) by BM25 score across collections."""
        scored = [(cid, name, score) for name, index in indexes.items() for cid, score in index.search(text, n, lang)]
        scored.sort(key=lambda t: -t[2])
        return [(cid, name) for cid, name, _ in scored[:n]]

    def _add_scores(self, ranking: list[tuple[str, str]], by_id: dict[str, Hit], colls: dict[str, Any],
                    vector: list[float], where: dict[str, Any] | None) -> None:
        """Keyword-only hits get their true cosine score (and must pass the same filter)."""
        missing: dict[str, list[str]] = {}
        for cid, name in ranking:
            if cid not in by_id:
                missing.setdefault(name, []).append(cid)
        for name, ids in missing.items():
            for hit in self._score(colls[name], ids, vector, name, where):
                by_id[hit.id] = hit

    def _translated_rankings(self, question: str, lang: str, indexes: dict[str, BM25Index],
                             n: int) -> list[list[tuple[str, str]]]:
        """Keyword rankings of the question translated into the collections' other languages."""
        if self.translator is None or not lang:
            return []
        counts: Counter[str] = Counter()
        for index in indexes.values():
            counts.update(index.language_counts)
        rankings = []
        for target in target_languages(counts, lang):
            translation = self.translator(question, target)
            if not translation:
                continue
            rankings.append(self._keyword_ranking(indexes, translation, n, target))
        return rankings

    def _score(self, coll: Any, ids: list[str], vector: list[float], name: str,
               where: dict[str, Any] | None = None) -> list[Hit]:
        res = coll.get(ids=ids, where=where, include=["documents", "metadatas", "embeddings"])
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
