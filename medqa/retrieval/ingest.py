"""Ingest a corpus or a folder into the tenant's Chroma collection, manifest and BM25 index.

Order of writes per batch of documents: upsert new chunks into Chroma, delete that batch's
stale chunks, then commit the documents to the manifest. A run killed anywhere (even with
SIGKILL) is finished by running it again: uncommitted documents are redone, chunks already
in Chroma are not embedded twice, orphans are reconciled away and BM25 is rebuilt.
"""
from __future__ import annotations

import fcntl
import hashlib
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from medqa.config import Settings
from medqa.errors import IngestError, StorageFull
from medqa.retrieval.chunking import Chunk, chunk_document
from medqa.retrieval.loaders import Document, LoadFailure, load_source, origin_of
from medqa.storage import free_mb, is_disk_full

BATCH_CHUNKS = 256  # chunks per commit: small enough that a crash redoes little


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did, counted in chunks; `failed` names each file/line not ingested."""

    added: int
    unchanged: int
    removed: int
    failed: tuple[tuple[str, str], ...]
    seconds: float


@contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """One writer per tenant index at a time (a second ingest waits for the first)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / "ingest.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def doc_hash(chunks: list[Chunk]) -> str:
    """A document's version: its chunk ids in order (each a hash of content and metadata)."""
    return hashlib.sha256("\n".join(c.id for c in chunks).encode()).hexdigest()[:32]


def _batches(pending: list[tuple[str, str, list[Chunk]]]) -> Iterator[list]:
    batch: list = []
    size = 0
    for item in pending:
        batch.append(item)
        size += len(item[2])
        if size >= BATCH_CHUNKS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def ingest(source: str | Path, settings: Settings, *, sync: bool = False,
           progress: Callable[[int, int], None] | None = None,
           limit: int | None = None) -> IngestReport:
    """Add a corpus name (data/manifest.toml) or a file/folder to the tenant's index.

    A full disk stops it with StorageFull; what was committed stays, and a rerun resumes."""
    if sync and limit is not None:
        raise IngestError("--sync with a limit would delete every document past the limit.",
                          "Run --sync without a limit.")
    t0 = time.perf_counter()
    origin, _ = origin_of(source, settings)
    _check_room(settings)
    try:
        added, unchanged, removed, failed = _ingest(source, origin, settings, sync, progress, limit)
    except Exception as e:
        if not is_disk_full(e):
            raise
        from medqa.retrieval.store import reset_embedded

        reset_embedded()
        raise StorageFull(
            f"The disk filled up while indexing {source}. The documents committed before it stay "
            "indexed and searchable; the rest were not added.",
            f"Tell IT: free space on the disk holding {settings.index_dir}, then run the same ingest "
            "again: it resumes where it stopped.") from e
    return IngestReport(added, unchanged, removed, tuple(failed), time.perf_counter() - t0)


def _check_room(settings: Settings) -> None:
    free = free_mb(settings.index_dir)
    if free < settings.min_free_mb:
        raise StorageFull(
            f"Only {free:.0f} MB free on the disk holding {settings.index_dir}; indexing needs at "
            f"least {settings.min_free_mb} MB (min_free_mb), so it did not start.",
            "Tell IT: free space there (the audit log needs it too), then ingest again.")


def _ingest(source, origin: str, settings: Settings, sync: bool, progress, limit):  # noqa: ANN001
    from medqa.retrieval import bm25
    from medqa.retrieval.embeddings import get_embedder
    from medqa.retrieval.manifest import Manifest
    from medqa.retrieval.store import ChromaStore

    r = settings.retrieval
    with ingest_lock(settings.index_dir):
        manifest = Manifest(settings.index_dir)
        try:
            store = ChromaStore(settings, get_embedder(r.embedding_model))
            known = manifest.doc_hashes()
            failed: list[tuple[str, str]] = []
            seen: set[str] = set()
            pending: list[tuple[str, str, list[Chunk]]] = []
            unchanged = n_docs = 0
            for item in load_source(source, settings):
                if isinstance(item, LoadFailure):
                    failed.append((item.name, item.reason))
                    seen.add(item.name)  # a file that fails now is not a file that is gone
                    continue
                assert isinstance(item, Document)
                if limit is not None and n_docs >= limit:
                    break
                n_docs += 1
                chunks = chunk_document(item, r.chunk_size, r.chunk_overlap)
                seen.add(item.doc_id)
                h = doc_hash(chunks)
                if known.get(item.doc_id) == h:
                    unchanged += len(chunks)
                else:
                    pending.append((item.doc_id, h, chunks))
            added, written = _write(store, manifest, origin, pending, progress)
            removed = 0
            if sync:
                gone = [d for d in manifest.docs_of(origin) if d not in seen]
                if gone:
                    store.delete_docs(gone)
                    removed = manifest.remove_docs(gone)
            reconcile(store, manifest)
            if not bm25.is_current(settings.index_dir, manifest):
                bm25.build(settings.index_dir, manifest, store, written)
        finally:
            manifest.close()
    return added, unchanged, removed, failed


def _write(store, manifest, origin: str, pending: list,  # noqa: ANN001
           progress) -> tuple[int, set[str]]:  # noqa: ANN001
    """Embed, store and commit pending documents; returns (chunks, ids written to the store)."""
    total = sum(len(c) for _, _, c in pending)
    done = 0
    written: set[str] = set()
    if progress:
        progress(0, total)
    for batch in _batches(pending):
        doc_ids = [d for d, _, _ in batch]
        chunks = [c for _, _, cs in batch for c in cs]
        ids = [c.id for c in chunks]
        have = store.existing(ids)  # left by a run that died before committing
        todo = [c for c in chunks if c.id not in have]
        if todo:
            vectors = store.embedder.embed_chunks([c.index_text for c in todo])
            store.upsert([c.id for c in todo], vectors, [c.text for c in todo],
                         [c.metadata(origin) for c in todo])
            written.update(c.id for c in todo)
        new = set(ids)
        stale = [i for i in store.col.get(where={"doc_id": {"$in": doc_ids}}, include=[])["ids"]
                 if i not in new]
        store.delete_ids(stale)
        manifest.commit_docs(origin, batch)
        done += len(chunks)
        if progress:
            progress(done, total)
    return total, written


def reconcile(store, manifest) -> int:  # noqa: ANN001
    """Delete chunks Chroma holds that no committed document has (a crash's orphans)."""
    keep = manifest.chunk_ids()
    if store.count() == len(keep):
        return 0
    extra = [i for i in store.all_ids() if i not in keep]
    store.delete_ids(extra)
    return len(extra)


def remove_source(settings: Settings, source: str) -> int:
    """Delete every chunk of an ingested source (a corpus name or path); returns chunks."""
    from medqa.retrieval import bm25
    from medqa.retrieval.embeddings import get_embedder
    from medqa.retrieval.manifest import Manifest
    from medqa.retrieval.store import ChromaStore

    origin, _ = origin_of(source, settings) if not Path(str(source)).is_absolute() else (
        str(source), "")
    with ingest_lock(settings.index_dir):
        manifest = Manifest(settings.index_dir)
        try:
            docs = manifest.docs_of(origin)
            if not docs:
                return 0
            store = ChromaStore(settings, get_embedder(settings.retrieval.embedding_model))
            store.delete_docs(docs)
            n = manifest.remove_docs(docs)
            reconcile(store, manifest)
            bm25.build(settings.index_dir, manifest, store)
            return n
        finally:
            manifest.close()
