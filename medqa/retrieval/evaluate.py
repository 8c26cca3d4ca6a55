"""Retrieval evaluation: Recall@1/5/10 and MRR@10 counted per document, per retriever.

A retriever's passages are turned into a document ranking (first occurrence of each doc_id);
a question is answered at rank r when its gold doc_id is the r-th distinct document.
Only the question text reaches the retriever; qtype and doc_id are used for scoring only.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from medqa.config import Settings
from medqa.types import Passage

FETCH = 50  # passages asked for, so ten distinct documents are almost always there


@dataclass(frozen=True)
class Scores:
    """Per-document retrieval metrics of one retriever on one question set."""

    recall_1: float
    recall_5: float
    recall_10: float
    mrr_10: float
    n: int
    ms_per_query: float


def doc_ranking(passages: Iterable[Passage]) -> list[str]:
    """Distinct doc_ids in the order their first passage appears."""
    seen: dict[str, None] = {}
    for p in passages:
        seen.setdefault(p.doc_id, None)
    return list(seen)


def score(rankings: Sequence[Sequence[str]], gold: Sequence[str], ms: float = 0.0) -> Scores:
    """Recall@1/5/10 and MRR@10 of document rankings against gold doc ids."""
    r1 = r5 = r10 = mrr = 0.0
    for docs, g in zip(rankings, gold):
        top = list(docs[:10])
        if g in top:
            rank = top.index(g) + 1
            r1 += rank == 1
            r5 += rank <= 5
            r10 += 1
            mrr += 1 / rank
    n = max(len(gold), 1)
    return Scores(r1 / n, r5 / n, r10 / n, mrr / n, len(gold), ms)


def in_split(qid: str, split: str) -> bool:
    """Fixed halves of a set by a hash of the question id: 'tune', 'held' or 'all'."""
    if split == "all":
        return True
    even = int(hashlib.sha256(qid.encode()).hexdigest(), 16) % 2 == 0
    return even if split == "tune" else not even


def load_questions(set_name: str, settings: Settings, split: str = "all") -> list[dict]:
    """Rows {id, question, doc_id} of a retrieval eval set from data/manifest.toml."""
    from medqa import data

    path = data.resolve(set_name, settings)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in rows if in_split(r["id"], split)]


def evaluate(settings: Settings, set_name: str = "medquad_retrieval_dev", split: str = "all",
             limit: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict[str, Scores]:
    """Scores of bm25, dense and hybrid on the set (every question, or one fixed half)."""
    from medqa.retrieval.hybrid import open_retriever

    rows = load_questions(set_name, settings, split)[:limit]
    hybrid = open_retriever(settings)
    retrievers = {"bm25": hybrid.bm25, "dense": hybrid.dense, "hybrid": hybrid}
    gold = [r["doc_id"] for r in rows]
    out: dict[str, Scores] = {}
    total, done = len(rows) * len(retrievers), 0
    for name, retriever in retrievers.items():
        rankings = []
        t0 = time.perf_counter()
        for r in rows:
            rankings.append(doc_ranking(retriever.search(r["question"], k=FETCH)))
            done += 1
            if progress:
                progress(done, total)
        ms = (time.perf_counter() - t0) * 1000 / max(len(rows), 1)
        out[name] = score(rankings, gold, ms)
    return out
