"""HybridRetriever: BM25 + dense (Chroma), fused per document (medqa.retrieval.ranking).

`open_retriever(settings)` loads a tenant's index once; searches pick up a newer index
(an ingest running beside a server) within a second.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Any

from medqa.config import Settings
from medqa.errors import IndexMissing, QueryError, StorageFull
from medqa.retrieval.embeddings import check_index_vectors
from medqa.retrieval.ranking import DocIndex, RankParams, rank
from medqa.retrieval.tokenize import tokenize
from medqa.storage import is_disk_full
from medqa.types import Passage

log = logging.getLogger(__name__)
INGEST_HINT = "Build it: medqa ingest medquad (or medqa ingest PATH for your own files)."


def validate_query(query: str, settings: Settings) -> str:
    """The query stripped, or a QueryError saying what is wrong with it."""
    if not isinstance(query, str) or not query.strip():
        raise QueryError("The search query is empty.", "Type a question or some keywords.")
    limit = settings.retrieval.max_query_chars
    if len(query) > limit:
        raise QueryError(f"The search query is {len(query):,} characters long; the limit is "
                         f"{limit:,}.", "Shorten it to the question itself.")
    return query.strip()


class _Index:
    """One loaded generation of a tenant's index: BM25, chunk table, dense vectors, embedder.

    Searches never touch Chroma: dense search runs over the generation's vectors in memory
    (medqa.retrieval.dense). Chroma is opened only to rebuild what is missing.
    """

    def __init__(self, settings: Settings) -> None:
        from medqa.retrieval import bm25
        from medqa.retrieval.dense import DenseIndex
        from medqa.retrieval.embeddings import get_embedder
        from medqa.retrieval.ingest import ingest_lock
        from medqa.retrieval.manifest import Manifest

        if not (settings.index_dir / "manifest.sqlite3").is_file():
            raise IndexMissing(f"No search index for tenant {settings.tenant!r} under "
                               f"{settings.index_dir}.", INGEST_HINT)
        self.settings = settings
        self._store: Any = None
        self.manifest = Manifest(settings.index_dir)
        self.embedder = get_embedder(settings.retrieval.embedding_model)
        behind = None
        if not bm25.is_current(settings.index_dir, self.manifest):
            # an ingest died before rebuilding BM25: rebuild from what is committed
            with ingest_lock(settings.index_dir):
                if not bm25.is_current(settings.index_dir, self.manifest):
                    behind = self._rebuild()
        self.bm25 = bm25.BM25Index(settings.index_dir)
        if not len(self.bm25):
            raise IndexMissing(f"The search index of tenant {settings.tenant!r} is empty.",
                               INGEST_HINT)
        meta = {r[0]: r for r in self.manifest.iter_chunks(with_text=False)}
        if behind is not None and any(i not in meta for i in self.bm25.ids):
            raise behind  # the older generation names chunks that are gone: it cannot serve
        rows = [meta[i] for i in self.bm25.ids]
        self.table = DocIndex([r[2] for r in rows], [r[3] for r in rows], [r[6] for r in rows])
        self.rows = rows
        self.dense = DenseIndex(self._vectors())
        self.generation = self.bm25.generation
        self.tenant = settings.tenant
        self.lock = threading.Lock()

    def _rebuild(self) -> StorageFull | None:
        """Rebuild BM25 and vectors from the committed chunks. On a full disk with an older
        generation in place, serve that one (its documents, not the newest) and return the
        error; the next reload after an ingest tries again."""
        from medqa.retrieval import bm25

        try:
            bm25.build(self.settings.index_dir, self.manifest, self.store)
            return None
        except Exception as e:
            if not is_disk_full(e) or bm25.pointer(self.settings.index_dir) is None:
                raise
            from medqa.retrieval.store import reset_embedded

            self._store = None
            reset_embedded()  # opened on a full disk, it would wedge the next ingest
            log.warning("disk full: the search index of tenant %s could not be brought up to date; "
                        "serving its previous generation", self.settings.tenant)
            return StorageFull(
                "The disk is full and the search index is behind its documents, so it cannot be "
                "opened.", f"Tell IT: free space on the disk holding {self.settings.index_dir}.")

    @property
    def store(self) -> Any:
        """The tenant's Chroma collection (opened on first use)."""
        if self._store is None:
            from medqa.retrieval.store import ChromaStore

            self._store = ChromaStore(self.settings, self.embedder, create=False)
        return self._store

    def _vectors(self) -> Any:
        from medqa.retrieval import dense
        from medqa.retrieval.ingest import ingest_lock

        folder = self.bm25.folder
        loaded = dense.load(folder)
        if loaded is None or len(loaded[0]) != len(self.bm25):
            # a generation written before vectors were kept beside BM25: add them once
            with ingest_lock(self.settings.index_dir):
                loaded = dense.load(folder)
                if loaded is None or len(loaded[0]) != len(self.bm25):
                    return dense.write_into(folder, self.bm25.ids, self.embedder.name,
                                            self.store.vectors, self.embedder.version)
        matrix, info = loaded
        check_index_vectors(info, self.embedder, self.settings.tenant, self.settings.index_dir)
        return matrix

    def passages(self, scored: list[tuple[int, float]]) -> list[Passage]:
        with self.lock:
            texts = self.manifest.texts([self.rows[r][0] for r, _ in scored]) if scored else {}
        out = []
        for row, score in scored:
            cid, _, doc_id, title, source, url, heading, page, path = self.rows[row]
            out.append(Passage(id=cid, text=texts.get(cid, ""), doc_id=doc_id, title=title,
                               source=source, score=float(score), url=url, heading=heading,
                               page=page, path=path, tenant=self.tenant))
        return out

    def bm25_rows(self, query: str, n: int) -> tuple[list[int], list[float]]:
        idx, scores = self.bm25.top(tokenize(query), n)
        return idx.tolist(), scores.tolist()

    def dense_rows(self, vector: Any, n: int) -> tuple[list[int], list[float]]:
        """The n nearest rows to a query vector (exact cosine)."""
        rows, sims = self.dense.top(vector, n)
        return rows.tolist(), sims.tolist()


class _Sub:
    """Shared plumbing of the retrievers: validation and picking up a newer index."""

    def __init__(self, owner: "HybridRetriever") -> None:
        self._owner = owner

    @property
    def index(self) -> _Index:
        return self._owner._current()

    def _check(self, query: str) -> str:
        return validate_query(query, self._owner.settings)


class _Single(_Sub):
    """One retriever alone: its own ranking of chunks, its own score."""

    def search(self, query: str, k: int = 8) -> list[Passage]:
        """Top-k chunks by this retriever's score."""
        q = self._check(query)
        idx = self.index
        rows, scores = self._rows(idx, q, k)
        return idx.passages(list(zip(rows, scores)))

    def _rows(self, idx: _Index, query: str, k: int) -> tuple[list[int], list[float]]:
        raise NotImplementedError


class BM25Retriever(_Single):
    """Keyword search alone (bm25s); score = BM25."""

    def _rows(self, idx: _Index, query: str, k: int) -> tuple[list[int], list[float]]:
        return idx.bm25_rows(query, k)


class DenseRetriever(_Single):
    """Embedding search alone (exact cosine over the index's vectors); score = cosine."""

    def _rows(self, idx: _Index, query: str, k: int) -> tuple[list[int], list[float]]:
        return idx.dense_rows(idx.embedder.embed_query(query), k)


class HybridRetriever(_Sub):
    """BM25 + dense fused per document; an optional reranker seam after fusion."""

    def __init__(self, settings: Settings, params: RankParams | None = None) -> None:
        from medqa.retrieval.rerank import get_reranker

        self.settings = settings
        self.params = params or replace(RankParams(), rrf_k=settings.retrieval.rrf_k)
        self._index = _Index(settings)
        self._checked = time.monotonic()
        self._reload_lock = threading.Lock()
        super().__init__(self)
        self.bm25 = BM25Retriever(self)
        self.dense = DenseRetriever(self)
        self.reranker = get_reranker(settings.retrieval.reranker)

    def _current(self) -> _Index:
        # at most once a second: has an ingest committed a newer generation?
        now = time.monotonic()
        if now - self._checked > 1.0:
            self._checked = now
            from medqa.retrieval import bm25

            info = bm25.pointer(self.settings.index_dir)
            if info and info["generation"] != self._index.generation:
                with self._reload_lock:
                    if info["generation"] != self._index.generation:
                        self._index = _Index(self.settings)
        return self._index

    def search(self, query: str, k: int = 8) -> list[Passage]:
        """Top-k chunks, grouped by document (best document first)."""
        q = self._check(query)
        idx = self.index
        n = max(self.params.candidates, k)
        # (Embedding on a worker thread while BM25 runs measured slower on 2 busy cores:
        # waking the thread costs more than BM25's ~0.5 ms.)
        d, cosines = idx.dense_rows(idx.embedder.embed_query(q), n)
        floor = self.settings.retrieval.min_relevance
        floor = idx.embedder.relevance_floor if floor is None else floor
        if not cosines or cosines[0] < floor:
            return []  # nothing indexed is about this question: no passage beats a wrong one
        b, _ = idx.bm25_rows(q, n)
        passages = idx.passages(rank(q, b, d, idx.table, self.params, limit=k))
        if self.reranker is not None:
            passages = self.reranker.rerank(q, passages)
        return passages


_CACHE: dict[tuple[str, str, str | None, str, float | None], HybridRetriever] = {}
_CACHE_LOCK = threading.Lock()


def open_retriever(settings: Settings) -> HybridRetriever:
    """The tenant's retriever, loaded once per process; IndexMissing if nothing is ingested."""
    key = (str(settings.index_dir), settings.retrieval.embedding_model,
           settings.retrieval.chroma_url, settings.retrieval.reranker,
           settings.retrieval.min_relevance)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = HybridRetriever(settings)
        return _CACHE[key]


def index_status(settings: Settings) -> dict[str, Any]:
    """Chunks, documents and sources of the tenant's index (for /healthz and the admin tab)."""
    from medqa.retrieval.manifest import Manifest

    status: dict[str, Any] = {"tenant": settings.tenant, "index_dir": str(settings.index_dir),
                              "chunks": 0, "documents": 0, "sources": [], "ready": False}
    if not (settings.index_dir / "manifest.sqlite3").is_file():
        return status
    m = Manifest(settings.index_dir)
    try:
        status["documents"], status["chunks"] = m.counts()
        status["sources"] = [s["source"] for s in m.sources()]
        status["ready"] = status["chunks"] > 0
    finally:
        m.close()
    return status


def list_sources(settings: Settings) -> list[dict]:
    """Each ingested source (corpus name or path) with documents, chunks, updated_at."""
    from medqa.retrieval.manifest import Manifest

    if not (settings.index_dir / "manifest.sqlite3").is_file():
        return []
    m = Manifest(settings.index_dir)
    try:
        return m.sources()
    finally:
        m.close()


def remove_source(settings: Settings, source: str) -> int:
    """Delete every chunk of an ingested source; returns how many were removed."""
    from medqa.retrieval.ingest import remove_source as _remove

    return _remove(settings, source)
