"""Chunking: sections cut into ~chunk_size pieces that keep their heading, with content ids."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from medqa.retrieval.loaders import Document


@dataclass(frozen=True)
class Chunk:
    """One indexed piece of a document; `id` is a hash of everything it holds."""

    id: str
    text: str
    doc_id: str
    title: str
    source: str
    url: str | None = None
    heading: str | None = None
    page: int | None = None
    path: str | None = None

    @property
    def index_text(self) -> str:
        """What BM25 and the embedder see: title, heading, text (never eval questions)."""
        return "\n".join(p for p in (self.title, self.heading, self.text) if p)

    def metadata(self, origin: str) -> dict[str, str | int]:
        """Chroma metadata (no None values allowed there)."""
        meta: dict[str, str | int] = {"doc_id": self.doc_id, "title": self.title,
                                      "source": self.source, "origin": origin}
        for key in ("url", "heading", "path"):
            if getattr(self, key):
                meta[key] = getattr(self, key)
        if self.page is not None:
            meta["page"] = self.page
        return meta


def chunk_id(*fields: object) -> str:
    """A stable content id: the same fields always give the same id."""
    h = hashlib.sha256("\x1f".join("" if f is None else str(f) for f in fields).encode())
    return h.hexdigest()[:32]


@lru_cache(maxsize=4)
def _splitter(size: int, overlap: int):  # noqa: ANN202 - langchain type stays lazy
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap,
                                          separators=["\n\n", "\n", ". ", "。", " ", ""])


def chunk_document(doc: Document, size: int = 1000, overlap: int = 100) -> list[Chunk]:
    """The document's chunks in order; duplicate pieces inside one document are dropped."""
    splitter = _splitter(size, overlap)
    out: list[Chunk] = []
    seen: set[str] = set()
    for sec in doc.sections:
        for piece in splitter.split_text(sec.text):
            piece = piece.strip()
            if not piece:
                continue
            cid = chunk_id(doc.doc_id, doc.title, doc.source, doc.url, sec.heading, sec.page,
                           doc.path, piece)
            if cid in seen:
                continue
            seen.add(cid)
            out.append(Chunk(cid, piece, doc.doc_id, doc.title, doc.source, doc.url,
                             sec.heading, sec.page, doc.path))
    return out
