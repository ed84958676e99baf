"""The Chroma store: one Chroma collection per articlebot collection, cosine space.

Embedded (``PersistentClient`` under ``ARTICLEBOT_HOME``) by default, a Chroma server when
``ARTICLEBOT_CHROMA_URL`` is set; telemetry off either way. Each collection records the
embedding model that built it, and refuses to be queried with another.

Crash safety: an article version's chunks carry ``n_chunks``; a version is complete when that
many chunks with its hash are present. New chunks are written before old ones are removed, so an
interrupted ingest leaves the previous version intact and the next ingest finishes the job.

Several processes on one home: an embedded Chroma client loads each collection's vector index once
and never sees what another process writes afterwards. A bot that has run for a day would not find
the articles ``articlebot ingest`` added from a shell, would still answer from those ``sources
remove`` deleted, and failed with "Error finding id" on the new ones keyword search found. So each
write also changes ``chroma.generation``, and a process that finds it changed by another reopens
its client, between operations (see :meth:`VectorStore.session`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from retrieval.documents import Chunk
from retrieval.errors import ArticlebotError, BadInputError, ModelMismatchError, NotFoundError, StoreError
from retrieval.settings import Settings

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$")
_PREFIX = "ab-"
_GET_PAGE = 5000
_STALE = "stale"  # as the generation seen: reopen the client at the next session


def validate_collection_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise BadInputError(
            f"invalid collection name {name!r}: use 1-60 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk; ``score`` is the cosine similarity of query and chunk."""

    id: str
    text: str
    metadata: dict[str, Any]
    score: float
    collection: str = ""


@dataclass(frozen=True)
class CollectionInfo:
    """One collection, as ``articlebot collections`` shows it."""

    name: str
    articles: int
    chunks: int
    embedding_model: str


@dataclass(frozen=True)
class SourceInfo:
    """One stored article, as ``sources list`` shows it."""

    id: str
    title: str
    source: str
    url: str
    date: str
    lang: str
    chunks: int
    complete: bool


UNAUTHORIZED = ("the Chroma server refused articlebot's requests (unauthorized): set ARTICLEBOT_CHROMA_TOKEN to "
                "its token (and ARTICLEBOT_CHROMA_TOKEN_HEADER if it is not read as 'Authorization: Bearer')")


def _wrap(exc: Exception, what: str) -> ArticlebotError:
    from chromadb.errors import AuthorizationError, ChromaAuthError

    if isinstance(exc, ArticlebotError):  # already says what failed: the store's, or a bad ARTICLEBOT_CHROMA_URL
        return exc
    if isinstance(exc, (AuthorizationError, ChromaAuthError)):  # a token revoked while running
        return StoreError(UNAUTHORIZED)
    first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return StoreError(f"the vector store failed while {what}: {first}")


class VectorStore:
    """Chroma behind the operations the engine needs; every Chroma error becomes a StoreError."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._generation_seen = ""  # chroma.generation when the client was opened or last written to
        self._users = 0  # threads in a session
        self._turns = threading.Condition()
        self._depth = threading.local()
        self._opening = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            # One thread opens it: two threads of a bot opening an embedded client at once (after a
            # reopen) shared Chroma's half-started system ("'RustBindingsAPI' object has no
            # attribute 'bindings'").
            with self._opening:
                if self._client is None:
                    self._client = self._open()
        return self._client

    def _open(self) -> Any:
        self._generation_seen = self._generation()  # read first: a write after it makes us stale
        try:
            import chromadb
            from chromadb.config import Settings as ChromaSettings
        except ImportError as exc:  # pragma: no cover - chromadb is a hard dependency
            raise StoreError("chromadb is not installed") from exc
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if self.settings.chroma_url:
                url = self._server_url()
                return chromadb.HttpClient(host=url, ssl=url.startswith("https:"),
                                           headers=self._auth_headers(), settings=chroma_settings)
            self.settings.chroma_path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.settings.chroma_path), settings=chroma_settings)
        except BadInputError:
            raise
        except Exception as exc:
            if self.settings.chroma_url and self._refuses_credentials():
                raise StoreError(UNAUTHORIZED) from exc
            where = self.settings.chroma_url or str(self.settings.chroma_path)
            raise _wrap(exc, f"opening the store at {where}") from exc

    # -- other processes' writes -------------------------------------------------------------
    def _generation(self) -> str:
        if self.settings.chroma_url:  # a server has one index for all its clients
            return ""
        try:
            return self.settings.store_generation_path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return ""

    def _written(self) -> None:
        """Tell other processes on this home that the store changed. A process that was itself stale
        stays so (it reopens at its next session) rather than taking the new generation as seen."""
        if self.settings.chroma_url:
            return
        before = self._generation()
        token = uuid.uuid4().hex
        path = self.settings.store_generation_path
        partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            partial.write_text(token, encoding="ascii")
            os.replace(partial, path)
        except OSError as exc:
            log.warning("other processes on %s will not see this change until restarted: %s",
                        self.settings.home, exc)
            return
        if before == self._generation_seen:
            self._generation_seen = token

    @contextmanager
    def session(self) -> Iterator[None]:
        """Hold the client for one operation (a search, an ingest, a listing): collection handles
        taken inside stay valid. Entering one reopens the client first if another process wrote to
        the store, once no other thread of this process is inside one."""
        depth = getattr(self._depth, "value", 0)
        if depth:  # nested in this thread's own session
            self._depth.value = depth + 1
            try:
                yield
            finally:
                self._depth.value = depth
            return
        with self._turns:
            while self._client is not None and self._generation() != self._generation_seen:
                if self._users == 0:
                    log.info("the store was changed by another process: reopening it")
                    self.close()
                else:
                    self._turns.wait(1.0)
            self._users += 1
        self._depth.value = 1
        try:
            yield
        finally:
            self._depth.value = 0
            with self._turns:
                self._users -= 1
                self._turns.notify_all()

    def _server_url(self) -> str:
        """ARTICLEBOT_CHROMA_URL with its port made explicit (8000, Chroma's, for http; 443 for https)
        and its path kept (a server behind a reverse proxy at https://host/chroma)."""
        raw = self.settings.chroma_url or ""
        url = urlparse(raw)
        if url.username or url.password:  # never echoed: the message would put the password in a log
            raise BadInputError("ARTICLEBOT_CHROMA_URL must not hold a user or password: "
                                "put the server's token in ARTICLEBOT_CHROMA_TOKEN")
        if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
            raise BadInputError(f"ARTICLEBOT_CHROMA_URL must be http(s)://host:port[/path], not {raw!r}")
        port = url.port or (443 if url.scheme == "https" else 8000)
        return f"{url.scheme}://{url.hostname}:{port}{url.path.rstrip('/')}"

    def _refuses_credentials(self) -> bool:
        """Asked once the client failed to start: chromadb keeps only the text of an answer, and a
        proxy's 401 page says nothing a user could act on."""
        import httpx

        try:
            answer = httpx.get(f"{self._server_url()}/api/v2/auth/identity", headers=self._auth_headers(), timeout=10)
        except httpx.HTTPError:
            return False
        return answer.status_code in (401, 403)

    def _auth_headers(self) -> dict[str, str]:
        token = self.settings.chroma_token.get_secret_value() if self.settings.chroma_token else ""
        if not token:
            return {}
        header = self.settings.chroma_token_header
        return {header: f"Bearer {token}" if header.lower() == "authorization" else token}

    def close(self) -> None:
        """Release the files and threads an embedded store holds. Chroma keeps a client's system
        alive per path until it is closed, about a dozen descriptors each: a process that opens
        stores one after another (an evaluation, a test session) would run out of them."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception as exc:  # closing must never hide what the caller was doing
                log.warning("closing the vector store: %s: %s", type(exc).__name__, exc)

    # -- collections -------------------------------------------------------------------------
    def collection(self, name: str, model_name: str | None, create: bool = False) -> Any:
        """The Chroma collection for ``name``; checks it was built with ``model_name`` (``None``:
        any model, for reading what it holds without searching it)."""
        validate_collection_name(name)
        assert model_name is not None or not create, "a new collection records its embedding model"
        chroma_name = _PREFIX + name
        try:
            if create:
                coll = self.client.get_or_create_collection(
                    chroma_name,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"embedding_model": model_name, "created_at": time.time(), "articlebot": name},
                )
            else:
                coll = self.client.get_collection(chroma_name)
        except Exception as exc:
            if not create and ("does not exist" in str(exc) or "NotFound" in type(exc).__name__):
                raise NotFoundError(f"collection '{name}' does not exist: ingest articles into it first") from exc
            raise _wrap(exc, f"opening collection '{name}'") from exc
        built_with = (coll.metadata or {}).get("embedding_model")
        if built_with and model_name is not None and built_with != model_name:
            raise ModelMismatchError(
                f"collection '{name}' was built with embedding model '{built_with}', not '{model_name}': "
                f"set ARTICLEBOT_EMBEDDING_MODEL={built_with} or ingest into another collection"
            )
        return coll

    def collection_names(self) -> list[str]:
        try:
            names = [c if isinstance(c, str) else c.name for c in self.client.list_collections()]
        except Exception as exc:
            raise _wrap(exc, "listing collections") from exc
        return sorted(n[len(_PREFIX):] for n in names if n.startswith(_PREFIX))

    def drop(self, name: str) -> None:
        try:
            self.client.delete_collection(_PREFIX + validate_collection_name(name))
        except Exception as exc:
            raise _wrap(exc, f"deleting collection '{name}'") from exc
        finally:
            self._written()

    # -- reading -----------------------------------------------------------------------------
    def _get(self, coll: Any, **kwargs: Any) -> dict[str, list[Any]]:
        """``collection.get`` in pages, so that 100k chunks do not go over Chroma's limits."""
        out: dict[str, list[Any]] = {"ids": [], "documents": [], "metadatas": [], "embeddings": []}
        include = kwargs.pop("include", ["metadatas"])
        offset = 0
        while True:
            try:
                page = coll.get(include=include, limit=_GET_PAGE, offset=offset, **kwargs)
            except Exception as exc:
                raise _wrap(exc, "reading chunks") from exc
            ids = page.get("ids") or []
            out["ids"].extend(ids)
            for key in ("documents", "metadatas", "embeddings"):
                values = page.get(key)
                if values is not None and len(values):
                    out[key].extend(values)
            if len(ids) < _GET_PAGE:
                return out
            offset += _GET_PAGE

    def count(self, coll: Any) -> int:
        try:
            return int(coll.count())
        except Exception as exc:
            raise _wrap(exc, "counting chunks") from exc

    def sources(self, coll: Any) -> list[SourceInfo]:
        """Articles in the collection, newest version of each, with a completeness flag."""
        versions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for meta in self._get(coll)["metadatas"]:
            versions.setdefault((meta["article_id"], meta["article_hash"]), []).append(meta)
        result: dict[str, SourceInfo] = {}
        for (article_id, _), metas in versions.items():
            meta = metas[0]
            info = SourceInfo(
                id=article_id, title=meta.get("title", ""), source=meta.get("source", ""),
                url=meta.get("url", ""), date=meta.get("date", ""), lang=meta.get("lang", ""),
                chunks=len(metas), complete=len(metas) == int(meta.get("n_chunks", -1)),
            )
            if article_id not in result or (info.complete and not result[article_id].complete):
                result[article_id] = info
        return sorted(result.values(), key=lambda s: (s.title.lower(), s.id))

    def version_state(self, coll: Any, article_id: str) -> dict[str, int]:
        """For each stored version (hash) of an article: how many of its chunks are present."""
        metas = self._get(coll, where={"article_id": article_id})["metadatas"]
        counts: dict[str, int] = {}
        for meta in metas:
            h = meta["article_hash"]
            counts[h] = counts.get(h, 0) + 1
        return counts

    def find_by_hash(self, coll: Any, article_hash: str) -> tuple[str, str] | None:
        """The id and source of an article already stored with exactly this content, if any."""
        try:
            page = coll.get(where={"article_hash": article_hash}, include=["metadatas"], limit=1)
        except Exception as exc:
            raise _wrap(exc, "looking up an article") from exc
        metas = page.get("metadatas") or []
        return (str(metas[0]["article_id"]), str(metas[0].get("source", ""))) if metas else None

    def embeddings_by_text(self, coll: Any, article_id: str) -> dict[str, list[float]]:
        """Vectors of the stored chunks of an article, by their text: unchanged chunks of an edited
        article are never embedded twice."""
        page = self._get(coll, where={"article_id": article_id}, include=["documents", "embeddings"])
        return {doc: list(map(float, emb)) for doc, emb in zip(page["documents"], page["embeddings"], strict=False)}

    def all_chunks(self, coll: Any) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        page = self._get(coll, include=["documents", "metadatas"])
        return page["ids"], page["documents"], page["metadatas"]

    def first_chunks(self, coll: Any, collection_name: str, where: dict[str, Any] | None = None) -> list[Hit]:
        """The first chunk of every stored article (of every version being written), as hits with no
        similarity (0): what lists articles by their records rather than by a question."""
        first: dict[str, Any] = {"chunk_index": 0}
        page = self._get(coll, where={"$and": [first, where]} if where else first,
                         include=["documents", "metadatas"])
        return [Hit(id=i, text=d, metadata=m, score=0.0, collection=collection_name)
                for i, d, m in zip(page["ids"], page["documents"], page["metadatas"], strict=False)]

    def get_by_ids(self, coll: Any, ids: list[str],
                   where: dict[str, Any] | None = None) -> list[tuple[str, str, dict[str, Any], Any]]:
        """(id, text, metadata, vector) of the chunks that can be read; none when the embedded store
        is being written by another process as we read (its keyword side found chunks our client
        cannot load yet): the search goes on without them, and the client is reopened at the next
        session. A chunk that process removed comes back empty and is left out, as in :meth:`query`."""
        try:
            res = coll.get(ids=ids, where=where, include=["documents", "metadatas", "embeddings"])
        except Exception as exc:
            if self.settings.chroma_url:
                raise _wrap(exc, "reading chunks") from exc
            log.info("chunks written by another process are not readable yet (%s): searching without them", exc)
            self._generation_seen = _STALE
            return []
        return [(i, d, m, e) for i, d, m, e in zip(res["ids"], res["documents"], res["metadatas"], res["embeddings"],
                                                   strict=False) if d is not None and m is not None and e is not None]

    def query(self, coll: Any, vector: list[float], n: int, where: dict[str, Any] | None = None,
              collection_name: str = "") -> list[Hit]:
        try:
            total = coll.count()
            if total == 0:
                return []
            res = coll.query(query_embeddings=[vector], n_results=min(n, total), where=where,
                             include=["documents", "metadatas", "distances"])
        except Exception as exc:
            raise _wrap(exc, "searching") from exc
        return [  # a chunk another process removed since our client loaded its index comes back empty
            Hit(id=i, text=d, metadata=m, score=1.0 - float(dist), collection=collection_name)
            for i, d, m, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                     res["distances"][0], strict=False)
            if d is not None and m is not None
        ]

    # -- writing -----------------------------------------------------------------------------
    def write_article(self, coll: Any, chunks: list[Chunk], vectors: list[list[float]],
                      metadata: Iterable[dict[str, Any]]) -> None:
        """Add a complete new version, then remove every other version of the same article."""
        if not chunks:
            return
        article = chunks[0].article
        try:
            coll.upsert(ids=[c.id for c in chunks], embeddings=vectors, documents=[c.text for c in chunks],
                        metadatas=list(metadata))
            coll.delete(where={"$and": [{"article_id": article.id}, {"article_hash": {"$ne": article.hash}}]})
        except Exception as exc:
            raise _wrap(exc, f"storing '{article.title[:60]}'") from exc
        finally:
            self._written()

    def touch(self, coll: Any) -> None:
        """Mark the collection changed, so that other processes rebuild their keyword index."""
        try:
            coll.modify(metadata={**(coll.metadata or {}), "updated_at": time.time()})
        except Exception as exc:
            raise _wrap(exc, "updating the collection") from exc
        finally:
            self._written()

    def delete_article(self, coll: Any, article_id: str) -> int:
        existing = len(self._get(coll, where={"article_id": article_id})["ids"])
        if existing:
            try:
                coll.delete(where={"article_id": article_id})
            except Exception as exc:
                raise _wrap(exc, f"removing '{article_id}'") from exc
            self.touch(coll)
        return existing
