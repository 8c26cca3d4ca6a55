"""The vector store: one Chroma collection per tenant, embedded or on a `chroma run` server."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import numpy as np

from medqa.config import Settings
from medqa.errors import StoreUnavailable


def collection_name(tenant: str) -> str:
    """Chroma's name rules (3-512 of [A-Za-z0-9._-], alphanumeric ends) for a tenant."""
    return f"medqa_{re.sub(r'[^A-Za-z0-9._-]', '-', tenant)}_chunks"


def chroma_client(settings: Settings) -> Any:
    """A PersistentClient under index_dir, or an HttpClient when retrieval.chroma_url is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    url = settings.retrieval.chroma_url
    try:
        if url:
            u = urlparse(url if "//" in url else f"http://{url}")
            return chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or 8000,
                                       ssl=u.scheme == "https", settings=chroma_settings)
        path = settings.index_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as e:  # chromadb raises bare ValueError/ConnectError on a dead server
        where = url or str(settings.index_dir / "chroma")
        raise StoreUnavailable(
            f"Cannot open the Chroma store at {where}: {e}",
            "Start the server (`chroma run --path DIR --port P`) or unset "
            "MEDQA_RETRIEVAL__CHROMA_URL to use the embedded store.",
        ) from e


def reset_embedded() -> None:
    """Stop and forget every embedded Chroma system this process holds. After a write that
    failed for want of space, the old one deadlocks the next write (chromadb 1.5, measured
    in tests/test_disk_full.py); a fresh one, opened on next use, writes normally."""
    from chromadb.api.shared_system_client import SharedSystemClient

    for system in list(SharedSystemClient._identifier_to_system.values()):
        try:
            system.stop()
        except Exception:  # already broken: forgetting it is what matters
            pass
    SharedSystemClient.clear_system_cache()


class ChromaStore:
    """Dense chunk vectors of one tenant; embeddings are always passed in explicitly."""

    def __init__(self, settings: Settings, embedder: Any, *, create: bool = True) -> None:
        from medqa.retrieval.embeddings import ChromaEmbedding

        self.client = chroma_client(settings)
        self.embedder = embedder
        name = collection_name(settings.tenant)
        # The embedding function is given explicitly: Chroma's default would download a model.
        kwargs = dict(name=name, embedding_function=ChromaEmbedding(embedder))
        try:
            if create:
                self.col = self.client.get_or_create_collection(
                    metadata={"embedder": embedder.name, "embedder_version": embedder.version,
                              "tenant": settings.tenant},
                    configuration={"hnsw": {"space": "cosine", "ef_construction": 200,
                                            "ef_search": 200}},
                    **kwargs)
            else:
                self.col = self.client.get_collection(**kwargs)
        except Exception as e:
            from medqa.errors import IndexMissing

            if not create:
                raise IndexMissing(f"No search index for tenant {settings.tenant!r}.",
                                   "Build it: medqa ingest medquad") from e
            raise StoreUnavailable(f"Cannot open Chroma collection {name}: {e}") from e
        from medqa.retrieval.embeddings import check_index_vectors

        check_index_vectors(self.col.metadata or {}, embedder, settings.tenant, settings.index_dir)

    def count(self) -> int:
        return int(self.col.count())

    def upsert(self, ids: list[str], vectors: np.ndarray, texts: list[str],
               metadatas: list[dict]) -> None:
        """Add or overwrite chunks by id (an id is a content hash, so this is idempotent)."""
        if ids:
            self.col.upsert(ids=ids, embeddings=vectors, documents=texts, metadatas=metadatas)

    def existing(self, ids: list[str]) -> set[str]:
        """Which of these ids the store already holds."""
        if not ids:
            return set()
        return set(self.col.get(ids=ids, include=[])["ids"])

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vector of each of these ids that the store holds."""
        if not ids:
            return {}
        got = self.col.get(ids=ids, include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])}

    def delete_ids(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 5000):
            self.col.delete(ids=ids[i:i + 5000])

    def delete_docs(self, doc_ids: list[str]) -> None:
        """Every chunk of these documents, including orphans of an interrupted ingest."""
        for i in range(0, len(doc_ids), 500):
            self.col.delete(where={"doc_id": {"$in": doc_ids[i:i + 500]}})

    def all_ids(self) -> list[str]:
        out: list[str] = []
        batch = 10000
        while True:
            got = self.col.get(include=[], limit=batch, offset=len(out))["ids"]
            out.extend(got)
            if len(got) < batch:
                return out

    def query(self, vector: np.ndarray, n: int) -> tuple[list[str], list[float]]:
        """Ids and cosine similarities of the n nearest chunks."""
        res = self.col.query(query_embeddings=[vector], n_results=n, include=["distances"])
        return res["ids"][0], [1.0 - d for d in res["distances"][0]]
