"""The ingest manifest: which documents (and chunks) are committed, in one SQLite file.

Chroma is written first, then the manifest commits the document in one transaction. After a
crash the manifest is the truth: documents it lacks are ingested again (their chunk ids are
content hashes, so the upserts repeat harmlessly) and any chunk Chroma holds beyond it is an
orphan that `reconcile` deletes. BM25 is rebuilt from the manifest's chunks table.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Iterable, Iterator

from medqa.retrieval.chunking import Chunk

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
  doc_id TEXT PRIMARY KEY, origin TEXT NOT NULL, hash TEXT NOT NULL,
  n_chunks INTEGER NOT NULL, committed_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS docs_origin ON docs(origin);
CREATE TABLE IF NOT EXISTS chunks (
  id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, seq INTEGER NOT NULL, title TEXT NOT NULL,
  source TEXT NOT NULL, url TEXT, heading TEXT, page INTEGER, path TEXT, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
FIELDS = ("id", "text", "doc_id", "title", "source", "url", "heading", "page", "path")


class Manifest:
    """Committed documents and chunks of one tenant's index."""

    def __init__(self, index_dir: Path) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        self.path = index_dir / "manifest.sqlite3"
        self.db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")  # readers (the web app) never block ingest
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def doc_hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT doc_id, hash FROM docs"))

    def docs_of(self, origin: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT doc_id FROM docs WHERE origin=?", (origin,))]

    def generation(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def _bump(self) -> None:
        self.db.execute("INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO "
                        "UPDATE SET value = CAST(value AS INTEGER) + 1")

    def commit_docs(self, origin: str, docs: Iterable[tuple[str, str, list[Chunk]]]) -> None:
        """Record documents (doc_id, hash, chunks) as committed, replacing older versions."""
        now = time.time()
        with self.db:
            for doc_id, h, chunks in docs:
                self.db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
                self.db.execute("INSERT OR REPLACE INTO docs VALUES (?,?,?,?,?)",
                                (doc_id, origin, h, len(chunks), now))
                self.db.executemany(
                    "INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(c.id, c.doc_id, i, c.title, c.source, c.url, c.heading, c.page, c.path,
                      c.text) for i, c in enumerate(chunks)])
            self._bump()

    def remove_docs(self, doc_ids: list[str]) -> int:
        """Forget documents; returns how many chunks they had."""
        with self.db:
            n = 0
            for d in doc_ids:
                n += self.db.execute("DELETE FROM chunks WHERE doc_id=?", (d,)).rowcount
                self.db.execute("DELETE FROM docs WHERE doc_id=?", (d,))
            self._bump()
        return n

    def chunk_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM chunks")}

    def iter_chunks(self, with_text: bool = True) -> Iterator[tuple]:
        """(id, text|None, doc_id, title, source, url, heading, page, path) in a fixed order."""
        text = "text" if with_text else "NULL"
        yield from self.db.execute(
            f"SELECT id, {text}, doc_id, title, source, url, heading, page, path FROM chunks "
            "ORDER BY doc_id, seq")

    def texts(self, ids: list[str]) -> dict[str, str]:
        marks = ",".join("?" * len(ids))
        return dict(self.db.execute(f"SELECT id, text FROM chunks WHERE id IN ({marks})", ids))

    def origin_of_docs(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT doc_id, origin FROM docs"))

    def sources(self) -> list[dict]:
        """Per ingested source: documents, chunks and when it last changed."""
        rows = self.db.execute(
            "SELECT origin, COUNT(*), SUM(n_chunks), MAX(committed_at) FROM docs GROUP BY origin "
            "ORDER BY origin")
        return [{"source": o, "documents": d, "chunks": int(c or 0), "updated_at": t}
                for o, d, c, t in rows]

    def counts(self) -> tuple[int, int]:
        docs = self.db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]
        chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return int(docs), int(chunks)
