"""Two runs, paired: on the questions both answered, the difference in accuracy per task and
overall (the mean of the task differences, as MIRAGE averages tasks), with a bootstrap CI
that resamples questions within each task. Pairing is what makes a few points readable:
the unpaired CIs of two 1,000-question runs overlap far more than their difference's CI.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from medqa.errors import QueryError
from medqa.evals.metrics import bootstrap_ci
from medqa.evals.results import ResultRow


@dataclass(frozen=True)
class Paired:
    """One slice (a task, or "overall") of a paired comparison; accuracies in [0, 1]."""

    key: str
    n: int
    acc_a: float
    acc_b: float
    diff: float  # b - a
    ci_low: float
    ci_high: float
    only_a: int  # questions A got right and B wrong
    only_b: int
    seconds_a: float
    seconds_b: float


def compare(a: Sequence[ResultRow], b: Sequence[ResultRow], seed: int = 0) -> list[Paired]:
    """Per task, then overall, on the question ids both runs hold."""
    by_id = {r.id: r for r in b}
    pairs = [(r, by_id[r.id]) for r in a if r.id in by_id]
    if not pairs:
        raise QueryError("The two runs share no question.", "Compare runs of the same evaluation set.")
    tasks = sorted({ra.task for ra, _ in pairs})
    out = [_slice(t, [p for p in pairs if p[0].task == t], seed) for t in tasks]
    if len(tasks) > 1:
        out.append(_slice("overall", pairs, seed, strata=tasks))
    return out


def _slice(key: str, pairs: list, seed: int, strata: Sequence[str] = ()) -> Paired:
    groups = [[p for p in pairs if p[0].task == t] for t in strata] if strata else [pairs]

    def mean_of(f) -> float:  # noqa: ANN001 - the mean over groups of a per-pair value
        return sum(sum(f(ra, rb) for ra, rb in g) / len(g) for g in groups) / len(groups)

    lo, hi = bootstrap_ci([[int(rb.correct) - int(ra.correct) for ra, rb in g] for g in groups], seed=seed)
    acc_a, acc_b = mean_of(lambda ra, rb: ra.correct), mean_of(lambda ra, rb: rb.correct)
    return Paired(
        key=key, n=len(pairs), acc_a=acc_a, acc_b=acc_b, diff=acc_b - acc_a, ci_low=lo, ci_high=hi,
        only_a=sum(ra.correct and not rb.correct for ra, rb in pairs),
        only_b=sum(rb.correct and not ra.correct for ra, rb in pairs),
        seconds_a=sum(ra.seconds for ra, _ in pairs) / len(pairs),
        seconds_b=sum(rb.seconds for _, rb in pairs) / len(pairs),
    )


def markdown(label_a: str, label_b: str, rows: Sequence[Paired]) -> str:
    """The comparison as a Markdown table (accuracy in %, difference in points)."""
    lines = [f"A = {label_a}", f"B = {label_b}", "",
             "| slice | n | A | B | B - A (95% CI, paired) | only A right | only B right | s/q A | s/q B |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r.key} | {r.n} | {100 * r.acc_a:.1f} | {100 * r.acc_b:.1f} | **{100 * r.diff:+.1f}** "
            f"[{100 * r.ci_low:+.1f}, {100 * r.ci_high:+.1f}] | {r.only_a} | {r.only_b} | "
            f"{r.seconds_a:.2f} | {r.seconds_b:.2f} |")
    return "\n".join(lines)
