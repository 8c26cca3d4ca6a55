"""Reciprocal-rank fusion: each list adds weight / (k + rank) to the items it ranks (rank 1 = best)."""
from __future__ import annotations

from typing import Hashable, Sequence, TypeVar

T = TypeVar("T", bound=Hashable)


def rrf(rankings: Sequence[Sequence[T]], k: int = 60,
        weights: Sequence[float] | None = None) -> list[tuple[T, float]]:
    """Items of every ranking with their fused score, best first (ties keep first-seen order)."""
    weights = weights or [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[T, float] = {}
    for ranking, w in zip(rankings, weights):
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])
