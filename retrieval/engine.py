"""The facade every front end uses: ``Engine.ingest(...)``, ``Engine.ask(...)`` and kin.

A behaviour fixed here is fixed for the CLI, the REPL and the Discord bot alike. Models and the
store are created on first use, so a command that needs no LLM never loads one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel

from retrieval.answering import Answer, AnswerPipeline
from retrieval.chunking import chunk_article
from retrieval.dates import day_number, normalize_date, period_in_question
from retrieval.documents import Article, Chunk
from retrieval.embeddings import ArticleEmbeddings, build_embeddings
from retrieval.errors import ArticlebotError, BadInputError, EmptyCollectionError, NotFoundError, UnreachableError
from retrieval.feeds import FeedItems
from retrieval.loading import expand_paths, load_file, read_articles
from retrieval.locking import exclusive
from retrieval.prompt_templates import REQUIRED, PromptLibrary
from retrieval.query_enhancement import LLMTranslator
from retrieval.retriever import HybridSearch, KeywordIndexes
from retrieval.settings import Settings
from retrieval.store import CollectionInfo, SourceInfo, VectorStore, validate_collection_name

log = logging.getLogger(__name__)
_UNSET: Any = object()
Progress = Callable[[int, int, str], None]


@dataclass
class IngestReport:
    """What an ingest did: each article ingested, unchanged or failed (with the reason)."""

    ingested: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_embedded: int = 0

    def merge(self, other: IngestReport) -> None:
        self.ingested += other.ingested
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.chunks_added += other.chunks_added
        self.chunks_embedded += other.chunks_embedded


def file_gone(article_id: str, source: str) -> bool:
    """Whether an article was stored from a local file that is no longer there. Identical text found
    at a new path is then that file moved, not a copy beside it: keeping the old path would cite a
    file the user can no longer open. Articles from URLs, feeds or uploads are never taken for gone."""
    return article_id == source and Path(source).is_absolute() and not Path(source).exists()


@dataclass
class _Plan:
    """An article to (re)write: its chunks, their vectors (empty where still to compute), which to compute."""

    chunks: list[Chunk]
    vectors: list[list[float]]
    todo: list[int]
    replaces: str = ""  # an article stored with the same text, to remove once this one is written


class Engine:
    """articlebot's engine; cheap to create, loads models and the store lazily."""

    def __init__(self, settings: Settings, llm: BaseChatModel | None = _UNSET,
                 embeddings: ArticleEmbeddings | None = None) -> None:
        self.settings = settings
        self.store = VectorStore(settings)
        self._embeddings = embeddings
        self._llm = llm
        self._llm_backend = settings.llm_backend
        self._prompts: PromptLibrary | None = None
        self._keyword_indexes = KeywordIndexes()
        self._translator: LLMTranslator | None = None
        self._feed_items: FeedItems | None = None

    def close(self) -> None:
        """Release the store; the engine opens it again if used afterwards."""
        self.store.close()
        if self._feed_items is not None:
            self._feed_items.close()
            self._feed_items = None

    # -- lazily built parts ------------------------------------------------------------------
    @property
    def embeddings(self) -> ArticleEmbeddings:
        if self._embeddings is None:
            self._embeddings = build_embeddings(self.settings.embedding_model, self.settings.embedding_batch_size)
        return self._embeddings

    @property
    def prompts(self) -> PromptLibrary:
        if self._prompts is None:
            self._prompts = PromptLibrary(self.settings.user_prompts_dir)
        return self._prompts

    def check_prompts(self) -> None:
        """Raise for a template every question goes through (the default answer template and the
        pipeline's own) that is missing or broken: a long-running bot says so when it starts, not to
        each member who asks. A broken template that only some questions choose is left to them."""
        self.prompts.get(self.settings.default_prompt, kind="answer")
        for kind in REQUIRED.keys() - {"answer"}:  # the pipeline's own: each named as its kind
            self.prompts.get(kind, kind=kind)
        for problem in sorted(self.prompts.broken.values()):
            log.warning("%s (questions that choose it are refused)", problem)

    @property
    def llm(self) -> BaseChatModel | None:
        if self._llm is _UNSET:
            from retrieval.llm.backends import build_chat_model

            self._llm = build_chat_model(self.settings, self._llm_backend)
        return self._llm

    def set_llm_backend(self, backend: str) -> None:
        """Switch backends (the REPL's ``:llm``); the model loads on the next question."""
        from retrieval.llm.backends import build_chat_model

        self._llm = build_chat_model(self.settings, backend)
        self._llm_backend = backend

    @property
    def llm_backend(self) -> str:
        return self._llm_backend

    def pipeline(self) -> AnswerPipeline:
        llm = self.llm
        if llm is not None and self.settings.query_translation:
            if self._translator is None or self._translator.llm is not llm:
                self._translator = LLMTranslator(llm, self.prompts)
        else:
            self._translator = None
        search = HybridSearch(self.store, self.embeddings, self.settings, self._keyword_indexes, self._translator)
        return AnswerPipeline(self.settings, search, self.embeddings, self.prompts, llm)

    # -- ingestion ---------------------------------------------------------------------------
    def ingest_paths(self, paths: Iterable[Path], collection: str = "default",
                     progress: Progress | None = None, date: str = "") -> IngestReport:
        """Ingest files and folders; a bad file among many is reported and the rest go on."""
        files = expand_paths(list(paths))
        if not files:
            raise BadInputError("no supported files found (txt, md, html, json, jsonl, pdf, docx)")
        articles: list[Article] = []
        report = IngestReport()
        single = len(files) == 1
        for path in files:
            try:
                articles.extend(read_articles(report.failed, load_file, path, self.settings.max_file_bytes))
            except BadInputError as exc:
                if single:
                    raise
                report.failed.append((str(path), str(exc)))
        report.merge(self.ingest_articles(self.with_date(articles, date), collection, progress))
        return report

    @staticmethod
    def with_date(articles: list[Article], date: str) -> list[Article]:
        """The date a user gave at ingest (``--date``) overrides what the files say."""
        if not date:
            return articles
        from dataclasses import replace

        iso = normalize_date(date)
        if not iso:
            raise BadInputError(f"--date: cannot read the date {date!r} (use YYYY-MM-DD)")
        return [replace(a, date=iso) for a in articles]

    def _fetch(self, url: str) -> Any:
        from retrieval.fetching import fetch

        s = self.settings
        return fetch(url, allow_private=s.allow_private_urls, timeout_s=s.fetch_timeout_s,
                     max_bytes=s.fetch_max_bytes, deadline_s=s.fetch_deadline_s)

    def ingest_urls(self, urls: list[str], collection: str = "default",
                    progress: Progress | None = None, date: str = "") -> IngestReport:
        """Article pages, PDFs, text files and RSS/Atom feeds; one bad URL never stops the rest."""
        from retrieval.loading import load_bytes, title_from_url

        report = IngestReport()
        articles: list[Article] = []
        for url in urls:
            try:
                fetched = self._fetch(url)
                if fetched.suffix == ".feed":
                    report.merge(self._ingest_feed(url, fetched.data, collection, progress))
                else:
                    articles.extend(read_articles(report.failed, load_bytes, fetched.data, "page" + fetched.suffix,
                                                  fetched.url, url=fetched.url, title=title_from_url(fetched.url),
                                                  charset=fetched.charset))
            except BadInputError as exc:
                if len(urls) == 1:
                    raise
                report.failed.append((url, str(exc)))
        report.merge(self.ingest_articles(self.with_date(articles, date), collection, progress))
        return report

    def ingest_feed(self, url: str, collection: str = "default") -> IngestReport:
        """A feed's new or changed items, refusing a URL that is not a feed: what following a feed
        needs, where an article page taken for a feed would be fetched again at every poll."""
        fetched = self._fetch(url)
        if fetched.suffix != ".feed":
            raise BadInputError(f"{url}: not an RSS or Atom feed")
        return self._ingest_feed(url, fetched.data, collection, None)

    def _ingest_feed(self, url: str, data: bytes, collection: str, progress: Progress | None) -> IngestReport:
        from dataclasses import replace

        from retrieval.feeds import parse_feed
        from retrieval.loading import article_from_record, load_bytes, title_from_url

        _, items = parse_feed(data, url)
        if self._feed_items is None:
            self._feed_items = FeedItems(self.settings.feed_items_path)
        state = self._feed_items
        seen = state.seen(url, collection)
        if items:
            state.forget(url, collection, set(seen) - {item.key for item in items})
        report = IngestReport()
        for done, item in enumerate(items, 1):
            if seen.get(item.key) == item.fingerprint:
                report.unchanged.append(item.title or item.link)
                continue
            try:
                if item.link:
                    page = self._fetch(item.link)
                    found = load_bytes(page.data, "page" + page.suffix, page.url, url=page.url,
                                       title=item.title or title_from_url(page.url), charset=page.charset)
                    found = [replace(a, date=a.date or item.date) for a in found]
                else:
                    found = [article_from_record({"doc_id": item.key, "title": item.title, "text": item.content,
                                                  "date": item.date}, url)]
                part = self.ingest_articles(found, collection)
            except UnreachableError as exc:  # not marked: read again next time
                report.failed.append((item.link or item.key, str(exc)))
                continue
            except BadInputError as exc:
                part = IngestReport(failed=[(item.link or item.key, str(exc))])
            report.merge(part)
            # Refused for what it holds: reported now, not fetched again until the item changes.
            state.mark(url, collection, item.key, item.fingerprint)
            if progress:
                progress(done, len(items), item.title)
        return report

    def ingest_articles(self, articles: list[Article], collection: str = "default",
                        progress: Progress | None = None) -> IngestReport:
        validate_collection_name(collection)
        report = IngestReport()
        limit = self.settings.max_article_chars
        fitting: list[Article] = []
        for article in articles:  # an overlong one is refused before any work (Settings.max_article_chars)
            if len(article.text) <= limit:
                fitting.append(article)
            else:
                report.failed.append((article.source, f"{article.source}: too long for one article "
                                      f"({len(article.text):,} characters; the limit is {limit:,}: "
                                      "ARTICLEBOT_MAX_ARTICLE_CHARS)"))
        articles = fitting
        if not articles:
            return report
        # Loaded first: a model that cannot be loaded fails the ingest once, not each article in turn
        # (a folder of 10,000 gave 10,000 lines saying so, each after another try at loading it).
        _ = self.embeddings.model
        with exclusive(self.settings.lock_path), self.store.session():
            coll = self.store.collection(collection, self.embeddings.name, create=True)
            window: list[_Plan] = []
            pending = 0
            for done, article in enumerate(articles, 1):
                try:
                    plan = self._plan(coll, article, report)
                except BadInputError as exc:
                    report.failed.append((article.source, str(exc)))
                    plan = None
                if plan is not None:
                    window.append(plan)
                    pending += len(plan.todo)
                # Embed across articles in full batches (the model's speed), write article by article.
                if window and (pending >= self.settings.embedding_batch_size or done == len(articles)):
                    self._embed_and_write(coll, window, report)
                    window, pending = [], 0
                if progress:
                    progress(done, len(articles), article.title)
            if report.ingested:
                self.store.touch(coll)
                self._keyword_indexes.invalidate(collection)
        return report

    def chunk(self, article: Article) -> list[Chunk]:
        model = self.embeddings
        return chunk_article(article, model.token_count, self.settings.chunk_tokens,
                             self.settings.chunk_overlap_tokens, self.settings.min_chunk_words,
                             model_limit=model.max_tokens - 2)

    def _plan(self, coll: Any, article: Article, report: IngestReport) -> _Plan | None:
        """What an article needs: nothing (unchanged), or these chunks with these vectors to compute."""
        versions = self.store.version_state(coll, article.id)
        chunks = self.chunk(article)
        if not chunks:
            raise BadInputError(f"{article.source}: no text to index")
        if versions.get(article.hash) == len(chunks) and len(versions) == 1:
            report.unchanged.append(article.title)
            return None
        replaces = ""
        if not versions:
            found = self.store.find_by_hash(coll, article.hash)
            if found and not file_gone(*found):
                report.unchanged.append(f"{article.title} (same text as {found[0]})")
                return None
            if found:  # the file was moved: its article now lives at the new path, cited from there
                replaces = found[0]
        stored = article.id if versions else replaces  # whose vectors the unchanged chunks can reuse
        reuse = self.store.embeddings_by_text(coll, stored) if stored else {}
        vectors: list[list[float]] = [reuse.get(c.text, []) for c in chunks]
        return _Plan(chunks, vectors, [i for i, c in enumerate(chunks) if c.text not in reuse], replaces)

    def _embed_and_write(self, coll: Any, plans: list[_Plan], report: IngestReport) -> None:
        wanted = [(plan, i) for plan in plans for i in plan.todo]
        batch = self.settings.embedding_batch_size
        for start in range(0, len(wanted), batch):
            part = wanted[start:start + batch]
            vectors = self.embeddings.embed_documents([plan.chunks[i].embedding_text() for plan, i in part])
            for (plan, i), vector in zip(part, vectors, strict=True):
                plan.vectors[i] = vector
        report.chunks_embedded += len(wanted)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for plan in plans:
            metadata = [self._chunk_metadata(c, len(plan.chunks), now) for c in plan.chunks]
            self.store.write_article(coll, plan.chunks, plan.vectors, metadata)
            if plan.replaces:
                self.store.delete_article(coll, plan.replaces)
            report.ingested.append(plan.chunks[0].article.title)
            report.chunks_added += len(plan.chunks)

    @staticmethod
    def _chunk_metadata(chunk: Chunk, n_chunks: int, now: str) -> dict[str, Any]:
        a = chunk.article
        meta: dict[str, Any] = {
            "article_id": a.id, "article_hash": a.hash, "title": a.title, "source": a.source, "url": a.url,
            "date": a.date, "lang": a.lang, "chunk_index": chunk.index, "n_chunks": n_chunks,
            "start": chunk.start, "tokens": chunk.tokens, "ingested_at": now,
        }
        if a.date:
            meta["date_day"] = day_number(a.date)
        if a.extra.get("author"):
            meta["author"] = a.extra["author"]
        if a.extra.get("page_starts"):
            import json

            starts = json.loads(a.extra["page_starts"])
            meta["page"] = sum(1 for s in starts if s <= chunk.start) or 1
        return meta

    # -- sources -----------------------------------------------------------------------------
    def collections(self) -> list[CollectionInfo]:
        """Every collection with its articles, chunks and embedding model: read without loading
        the model, and listed whatever model each was built with."""
        infos = []
        with self.store.session():
            for name in self.store.collection_names():
                coll = self.store.collection(name, None)
                sources = self.store.sources(coll)
                infos.append(CollectionInfo(name=name, articles=len(sources), chunks=sum(s.chunks for s in sources),
                                            embedding_model=str((coll.metadata or {}).get("embedding_model", ""))))
        return infos

    def sources(self, collection: str = "default") -> list[SourceInfo]:
        """Listing (and removing, below) never embeds: a collection built with another model is
        listed and cleaned all the same; only searching it needs that model."""
        with self.store.session():
            return self.store.sources(self.store.collection(collection, None))

    def remove_source(self, source_id: str, collection: str = "default") -> int:
        return self.remove_sources([source_id], collection)[0]

    def remove_sources(self, source_ids: list[str], collection: str = "default") -> list[int]:
        """Chunks removed for each article, named by its id, file or URL. All or nothing: an unknown
        one is refused before any is removed, as every bad input leaves the store as it was."""
        with exclusive(self.settings.lock_path), self.store.session():
            coll = self.store.collection(collection, None)
            stored = self.store.sources(coll)
            targets = []
            for source_id in source_ids:
                ids = [s.id for s in stored if source_id in (s.id, s.source, s.url)]
                if not ids:
                    raise NotFoundError(
                        f"no source with id '{source_id}' in collection '{collection}' (see: sources list)")
                targets.append(ids)
            removed = [sum(self.store.delete_article(coll, article_id) for article_id in ids) for ids in targets]
            self._keyword_indexes.invalidate(collection)
        return removed

    # -- questions ---------------------------------------------------------------------------
    def check_question(self, question: str) -> str:
        question = " ".join((question or "").split())
        if not question:
            raise BadInputError("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise BadInputError(
                f"the question is too long ({len(question)} characters; "
                f"the limit is {self.settings.max_question_chars})")
        return question

    def check_k(self, k: int | None) -> int:
        k = self.settings.k if k is None else k
        if not 1 <= k <= 50:
            raise BadInputError("k must be between 1 and 50")
        return k

    def ask(self, question: str, collections: list[str] | str = "default", k: int | None = None,
            prompt: str | None = None, history: list[tuple[str, str]] | None = None,
            since: str = "", until: str = "") -> Answer:
        """Answer from the collections; ``since``/``until`` keep only articles published in that period
        (undated articles have no period and are left out of a filtered question)."""
        question = self.check_question(question)
        where = self.period_filter(since, until)
        names = [collections] if isinstance(collections, str) else list(collections)
        for name in names:
            validate_collection_name(name)
        k = self.check_k(k)
        prompt = prompt or self.settings.default_prompt
        self.prompts.get(prompt, kind="answer")
        with self.store.session():
            stored = set(self.store.collection_names())
        existing = [n for n in names if n in stored]
        if not existing:
            raise EmptyCollectionError(
                f"collection '{names[0]}' is empty: ingest articles first (articlebot ingest PATH)")
        named = False
        if where is None:
            where = self.period_filter(*period_in_question(question))
            named = where is not None
        answer = self.pipeline().run(question, existing, k, prompt, history=history, where=where,
                                     where_is_a_hint=named)
        # Why an answer was refused is what its asker (or the bot's operator) wants to know next: -v says.
        scores = {name: value for name, value in answer.checks.items()
                  if name in ("similarity", "judge", "headline", "verify")}
        log.info("%s in %.0f ms%s; scores %s", "refused" if answer.abstained else "answered",
                 sum(answer.timings_ms.values()), f" ({answer.reason})" if answer.reason else "", scores)
        return answer

    @staticmethod
    def period_filter(since: str, until: str) -> dict[str, Any] | None:
        """A Chroma filter on publication days; a bad date is the user's error, said in one line."""
        days: dict[str, int] = {}
        for value, op, name in ((since, "$gte", "since"), (until, "$lte", "until")):
            if value:
                iso = normalize_date(value)
                if not iso:
                    raise BadInputError(f"{name}: cannot read the date {value!r} (use YYYY-MM-DD)")
                days[op] = day_number(iso)
        if "$gte" in days and "$lte" in days and days["$gte"] > days["$lte"]:
            # An empty period would answer "the articles do not say" with no hint that the dates were swapped.
            # Named without dashes: the CLI's --since, the REPL's :since and Discord's since: all read it.
            raise BadInputError(f"since {since} is after until {until}: no day is in that period")
        bounds = [{"date_day": {op: day}} for op, day in days.items()]
        if not bounds:
            return None
        return bounds[0] if len(bounds) == 1 else {"$and": bounds}


__all__ = ["Engine", "IngestReport", "Answer", "ArticlebotError"]
