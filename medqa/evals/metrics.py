"""Scoring and statistics: accuracy with seeded bootstrap CIs, cost, calibration, agreement, oracle.

"Overall" is the mean of the task accuracies (MIRAGE's "Average"), not the pooled share,
so a large task (MedMCQA: 4,183) does not drown a small one (PubMedQA*: 500).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Literal, Mapping, Sequence

import numpy as np

from medqa.evals.results import ResultRow

Unparsed = Literal["wrong", "first"]


def is_correct(choice: str | None, answer: str, options: Sequence[str], unparsed: Unparsed = "wrong") -> bool:
    """Whether a parsed letter is right; None counts as wrong, or as the first option
    under unparsed="first" (MIRAGE's locate_answer falls back to "A")."""
    if choice is None or choice not in options:
        if unparsed == "first":
            choice = sorted(options)[0]
        else:
            return False
    return choice == answer


def bootstrap_ci(
    groups: Sequence[Sequence[bool]], n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile CI of the mean of group accuracies, resampling within each group (stratified)."""
    arrays = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not arrays:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    stats = np.zeros(n_boot)
    for a in arrays:
        idx = rng.integers(0, len(a), size=(n_boot, len(a)))
        stats += a[idx].mean(axis=1)
    stats /= len(arrays)
    lo, hi = np.quantile(stats, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


@dataclass(frozen=True)
class GroupStats:
    """Accuracy and cost of one slice (a task, a subject, or overall) of one configuration."""

    key: str
    n: int
    accuracy: float
    ci_low: float
    ci_high: float
    seconds_per_q: float
    cpu_seconds_per_q: float | None
    prompt_tokens_per_q: float | None
    completion_tokens_per_q: float | None
    unparsed: int


def _mean_or_none(vals: list[int | None] | list[float | None]) -> float | None:
    real = [v for v in vals if v is not None]
    return float(np.mean(real)) if real else None


def group_stats(key: str, rows: Sequence[ResultRow], strata: str = "task", seed: int = 0) -> GroupStats:
    """Accuracy (mean of per-stratum accuracies) with a stratified bootstrap CI, and cost."""
    by: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by[str(getattr(r, strata))].append(r.correct)
    groups = list(by.values())
    acc = float(np.mean([np.mean(g) for g in groups])) if groups else float("nan")
    lo, hi = bootstrap_ci(groups, seed=seed)
    return GroupStats(
        key=key,
        n=len(rows),
        accuracy=acc,
        ci_low=lo,
        ci_high=hi,
        seconds_per_q=float(np.mean([r.seconds for r in rows])) if rows else float("nan"),
        cpu_seconds_per_q=_mean_or_none([r.cpu_seconds for r in rows]),
        prompt_tokens_per_q=_mean_or_none([r.prompt_tokens for r in rows]),
        completion_tokens_per_q=_mean_or_none([r.completion_tokens for r in rows]),
        unparsed=sum(r.choice is None for r in rows),
    )


def by_task(rows: Sequence[ResultRow], seed: int = 0) -> dict[str, GroupStats]:
    """Stats per task plus "overall" (macro over tasks), in first-seen task order."""
    tasks: dict[str, list[ResultRow]] = defaultdict(list)
    for r in rows:
        tasks[r.task].append(r)
    out = {t: group_stats(t, rs, strata="task", seed=seed) for t, rs in tasks.items()}
    out["overall"] = group_stats("overall", rows, strata="task", seed=seed)
    return out


def by_subject(rows: Sequence[ResultRow], seed: int = 0) -> dict[str, GroupStats]:
    """Stats per subject (rows without one are grouped under their task)."""
    subs: dict[str, list[ResultRow]] = defaultdict(list)
    for r in rows:
        subs[r.subject or r.task].append(r)
    return {s: group_stats(s, rs, strata="task", seed=seed) for s, rs in sorted(subs.items())}


def expected_calibration_error(rows: Iterable[ResultRow], n_bins: int = 10) -> float | None:
    """ECE of the top option probability (score mode rows only); None without probabilities."""
    conf, hit = [], []
    for r in rows:
        if r.probs:
            best = max(r.probs, key=lambda k: r.probs[k])  # type: ignore[index]
            conf.append(r.probs[best])
            hit.append(float(best == r.answer))
    if not conf:
        return None
    c, h = np.asarray(conf), np.asarray(hit)
    bins = np.minimum((c * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += m.mean() * abs(h[m].mean() - c[m].mean())
    return float(ece)


def agreement_matrix(runs: Mapping[str, Sequence[ResultRow]]) -> tuple[list[str], np.ndarray]:
    """Share of common questions on which each pair of runs chose the same letter."""
    names = list(runs)
    choice = {n: {r.id: r.choice for r in rows} for n, rows in runs.items()}
    m = np.full((len(names), len(names)), np.nan)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            common = choice[a].keys() & choice[b].keys()
            if common:
                m[i, j] = np.mean([choice[a][q] == choice[b][q] and choice[a][q] is not None for q in common])
    return names, m


def oracle_accuracy(runs: Mapping[str, Sequence[ResultRow]]) -> tuple[float, int]:
    """Share of the questions all runs answered that at least one run got right (macro over tasks)."""
    sets = [{r.id: r for r in rows} for rows in runs.values()]
    if not sets:
        return float("nan"), 0
    common = set.intersection(*(set(s) for s in sets))
    per_task: dict[str, list[bool]] = defaultdict(list)
    for q in common:
        per_task[sets[0][q].task].append(any(s[q].correct for s in sets))
    if not per_task:
        return float("nan"), 0
    return float(np.mean([np.mean(v) for v in per_task.values()])), len(common)


def softmax(logprobs: Mapping[str, float]) -> dict[str, float]:
    """Normalise option log-probs to probabilities over the options only."""
    keys = list(logprobs)
    v = np.asarray([logprobs[k] for k in keys], dtype=float)
    e = np.exp(v - v.max())
    p = e / e.sum()
    return {k: float(x) for k, x in zip(keys, p)}
