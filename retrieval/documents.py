"""The two records the engine passes around: an article and one of its chunks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property


def content_hash(text: str) -> str:
    """A stable digest of an article's text: equal texts are the same article version."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Article:
    """One article as loaded, before chunking.

    ``id`` is stable across edits (the record's doc_id, the canonical URL or the file's path), so
    that re-ingesting an edited article replaces it; ``hash`` tells versions apart.
    """

    id: str
    title: str
    text: str
    source: str
    url: str = ""
    date: str = ""
    lang: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @cached_property
    def hash(self) -> str:
        # Cached: every chunk's id reads it, and hashing the whole text per chunk made a long
        # article's ingestion quadratic.
        return content_hash(self.title + "\n" + self.text)


@dataclass(frozen=True)
class Chunk:
    """A piece of an article sized for the embedding model, with its article's metadata."""

    article: Article
    index: int
    text: str
    start: int
    tokens: int

    @property
    def id(self) -> str:
        return f"{self.article.id}#{self.article.hash[:16]}#{self.index}"

    def embedding_text(self) -> str:
        """The title travels with each chunk: headlines and names often sit only in it."""
        if self.article.title and not self.text.startswith(self.article.title):
            return f"{self.article.title}\n{self.text}"
        return self.text
