"""Document-aware hybrid ranking: weighted RRF of chunks, scored per document, with the
question's title and section-type evidence.

Why: answers live in documents, and a question usually names its topic (≈ the title) and
the kind of section it wants. Same-titled documents from different publishers differ in
which sections they have, so "what are the symptoms of X" picks the X that has Symptoms.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

from medqa.retrieval.fusion import rrf
from medqa.retrieval.intent import wanted_headings

_NON_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff]+")


def norm(text: str) -> str:
    """Lowercase words joined by single spaces (punctuation and hyphens become spaces)."""
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


@dataclass(frozen=True)
class RankParams:
    """Weights of the ranking (tuned on half of medquad_retrieval_dev; docs/retrieval.md)."""

    rrf_k: int = 60
    w_bm25: float = 1.0
    w_dense: float = 2.0  # MiniLM ranks MedQuAD better than BM25 does
    doc_rest: float = 0.0  # share of a document's other chunks added to its best one
    title: float = 0.02  # the document's whole title appears in the question
    title_exact: float = 0.0  # ... with the same capitalisation
    heading: float = 0.01  # the document has a section of the kind the question asks for
    chunk_heading: float = 0.005  # this chunk is such a section (orders passages)
    candidates: int = 100  # per retriever


class DocIndex:
    """Per-row document and heading, per-document title and headings, a title lookup."""

    def __init__(self, doc_ids: Sequence[str], titles: Sequence[str],
                 headings: Sequence[str | None]) -> None:
        self.doc_of: list[int] = []
        self.heading = list(headings)
        self.docs: list[str] = []
        self.title: list[str] = []
        self.doc_headings: list[set[str]] = []
        self.first_row: list[int] = []
        self.doc_rows: list[list[int]] = []
        index: dict[str, int] = {}
        for d, t, h in zip(doc_ids, titles, headings):
            if d not in index:
                index[d] = len(self.docs)
                self.docs.append(d)
                self.title.append(t)
                self.doc_headings.append(set())
                self.first_row.append(len(self.doc_of))
                self.doc_rows.append([])
            i = index[d]
            self.doc_rows[i].append(len(self.doc_of))
            self.doc_of.append(i)
            if h:
                self.doc_headings[i].add(h)
        self.by_title: dict[str, list[int]] = defaultdict(list)
        for i, t in enumerate(self.title):
            if norm(t):
                self.by_title[norm(t)].append(i)
        self.max_title_words = max((len(t.split()) for t in self.by_title), default=0)

    def titles_in(self, question: str) -> dict[int, int]:
        """Documents whose whole title occurs in the question -> title length in words."""
        words = norm(question).split()
        found: dict[int, int] = {}
        for n in range(min(self.max_title_words, len(words)), 0, -1):
            for s in range(len(words) - n + 1):
                for d in self.by_title.get(" ".join(words[s:s + n]), ()):
                    found.setdefault(d, n)
        return found


def rank(question: str, bm25_rows: Sequence[int], dense_rows: Sequence[int], index: DocIndex,
         p: RankParams, limit: int | None = None) -> list[tuple[int, float]]:
    """Rows (chunks) best first with scores: grouped by document, best document first.

    With a limit, only the first `limit` rows are built (the same rows as without one).
    """
    chunk = dict(rrf([bm25_rows, dense_rows], p.rrf_k, [p.w_bm25, p.w_dense]))
    wanted = wanted_headings(question)
    if wanted and p.chunk_heading:
        for row in chunk:
            if index.heading[row] in wanted:
                chunk[row] += p.chunk_heading
    by_doc: dict[int, list[int]] = defaultdict(list)
    for row in sorted(chunk, key=lambda r: -chunk[r]):
        by_doc[index.doc_of[row]].append(row)
    doc_score = {d: chunk[rows[0]] + p.doc_rest * sum(chunk[r] for r in rows[1:])
                 for d, rows in by_doc.items()}
    if p.title or p.title_exact:
        hits = index.titles_in(question)
        longest = max(hits.values(), default=0)
        for d, n in hits.items():
            if d not in doc_score:
                # named in the question but missed by both retrievers: its first chunk joins
                by_doc[d] = [index.first_row[d]]
                doc_score[d] = 0.0
            doc_score[d] += p.title * n / longest
            if p.title_exact and index.title[d] in question:
                doc_score[d] += p.title_exact
    if wanted and p.heading:
        for d in doc_score:
            if index.doc_headings[d] & wanted:
                doc_score[d] += p.heading
    out: list[tuple[int, float]] = []
    for d in sorted(doc_score, key=lambda d: -doc_score[d]):
        rows = by_doc[d]
        if wanted and index.doc_headings[d] & wanted:
            # the asked-for section leads its document's passages, retrieved or not
            lead = [r for r in index.doc_rows[d] if index.heading[r] in wanted]
            rows = sorted(set(rows) | set(lead), key=lambda r: (index.heading[r] not in wanted,
                                                                 -chunk.get(r, 0.0), r))
        out.extend((row, doc_score[d]) for row in rows)
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out
