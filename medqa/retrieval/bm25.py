"""BM25 (bm25s) over the manifest's chunks, persisted beside Chroma and swapped in atomically.

Layout under index_dir: `bm25-<generation>/` holds the bm25s files, the row -> chunk id
list and the chunks' dense vectors in the same row order (medqa.retrieval.dense);
`bm25.json` points at the current one and is replaced with os.replace, so a reader never
sees a half-written index and a killed rebuild leaves the old one in place.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medqa.retrieval.manifest import Manifest
from medqa.retrieval.tokenize import tokenize

POINTER = "bm25.json"


@dataclass(frozen=True)
class ChunkTable:
    """Chunk metadata aligned with the BM25 rows (texts stay in the manifest)."""

    ids: list[str]
    doc_id: list[str]
    title: list[str]
    source: list[str]
    url: list[str | None]
    heading: list[str | None]
    page: list[int | None]
    path: list[str | None]

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> "ChunkTable":
        cols = list(zip(*rows)) if rows else [()] * 9
        return cls(list(cols[0]), list(cols[2]), list(cols[3]), list(cols[4]),
                   list(cols[5]), list(cols[6]), list(cols[7]), list(cols[8]))


def index_text(title: str, heading: str | None, text: str) -> str:
    return "\n".join(p for p in (title, heading, text) if p)


def build(index_dir: Path, manifest: Manifest, store: Any = None,
          written: set[str] | frozenset[str] = frozenset()) -> int:
    """Rebuild BM25 (and, given the store, the dense vectors) from the committed chunks.

    A chunk's vector is the store's (Chroma may re-normalise what it is given): taken from
    the current generation when that has it (it was read from the store before) unless the
    chunk is in `written` (just stored again), else read from the store. Returns the rows.
    """
    import bm25s

    generation = manifest.generation()
    rows = list(manifest.iter_chunks())
    ids = [r[0] for r in rows]
    target = index_dir / f"bm25-{generation}"
    tmp = index_dir / f".bm25-{generation}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if rows:
        corpus = [tokenize(index_text(r[3], r[6], r[1])) for r in rows]
        model = bm25s.BM25()
        model.index(corpus, show_progress=False)
        model.save(str(tmp), show_progress=False)
    (tmp / "ids.json").write_text(json.dumps(ids))
    if store is not None:
        from medqa.retrieval import dense

        old = _current_vectors(index_dir, store.embedder.name)
        if old is not None and written:
            keep = [i for i, cid in enumerate(old[0]) if cid not in written]
            old = ([old[0][i] for i in keep], old[1][keep])
        matrix = dense.gather(ids, store.embedder.name, store.vectors,
                              *([old] if old is not None else []))
        if not ids:
            matrix = np.zeros((0, store.embedder.dim), dtype=np.float32)
        dense.save(tmp, matrix, store.embedder.name)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    _write_pointer(index_dir, {"dir": target.name, "generation": generation, "rows": len(rows)})
    for old in [*index_dir.glob("bm25-*"), *index_dir.glob(".bm25-*.tmp*")]:
        # earlier generations no reader points at any more, and halves of killed rebuilds
        if old.name != target.name:
            shutil.rmtree(old, ignore_errors=True)
    return len(rows)


def _current_vectors(index_dir: Path, embedder: str) -> tuple[list[str], np.ndarray] | None:
    """The current generation's (ids, vectors), if it has vectors of this embedder."""
    from medqa.retrieval import dense

    info = pointer(index_dir)
    if info is None:
        return None
    folder = index_dir / info["dir"]
    loaded = dense.load(folder)
    try:
        ids = json.loads((folder / "ids.json").read_text())
    except (OSError, ValueError):
        return None
    if loaded is None or loaded[1].get("embedder") != embedder or len(loaded[0]) != len(ids):
        return None
    return ids, loaded[0]


def _write_pointer(index_dir: Path, info: dict) -> None:
    tmp = index_dir / f".{POINTER}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(info))
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / POINTER)


def pointer(index_dir: Path) -> dict | None:
    try:
        return json.loads((index_dir / POINTER).read_text())
    except (OSError, ValueError):
        return None


def is_current(index_dir: Path, manifest: Manifest) -> bool:
    p = pointer(index_dir)
    return bool(p) and p["generation"] == manifest.generation() and (
        index_dir / p["dir"]).is_dir()


class BM25Index:
    """A loaded BM25 index: scores for all rows, top-n rows for a query."""

    def __init__(self, index_dir: Path) -> None:
        import bm25s

        info = pointer(index_dir)
        if info is None:
            raise FileNotFoundError(index_dir / POINTER)
        folder = index_dir / info["dir"]
        self.folder = folder
        self.ids: list[str] = json.loads((folder / "ids.json").read_text())
        self.generation = int(info["generation"])
        self.model: Any = (bm25s.BM25.load(str(folder), mmap=False, show_progress=False)
                           if self.ids else None)
        self.vocab: dict[str, int] = self.model.vocab_dict if self.model else {}

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every row (zeros when no token is known)."""
        known = [self.vocab[t] for t in tokens if t in self.vocab]
        if not known or self.model is None:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self.model.get_scores_from_ids(known)

    def top(self, tokens: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
        """Row indices and scores of the n best rows with a positive score, best first."""
        s = self.scores(tokens)
        n = min(n, len(s))
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = np.argpartition(-s, n - 1)[:n]
        idx = idx[np.argsort(-s[idx], kind="stable")]
        keep = s[idx] > 0
        return idx[keep], s[idx][keep]
