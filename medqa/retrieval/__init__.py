"""Retrieval: loaders, chunking, stores (Chroma, BM25), hybrid search and ingest.

Names are re-exported lazily so that `import medqa.retrieval` imports neither chromadb nor
torch; they load on first use.
"""
from __future__ import annotations

from typing import Any

_EXPORTS = {
    "HybridRetriever": "medqa.retrieval.hybrid",
    "open_retriever": "medqa.retrieval.hybrid",
    "index_status": "medqa.retrieval.hybrid",
    "list_sources": "medqa.retrieval.hybrid",
    "remove_source": "medqa.retrieval.hybrid",
    "validate_query": "medqa.retrieval.hybrid",
    "ingest": "medqa.retrieval.ingest",
    "IngestReport": "medqa.retrieval.ingest",
    "Retriever": "medqa.retrieval.base",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'medqa.retrieval' has no attribute {name!r}")
