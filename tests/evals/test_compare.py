"""Paired comparison on the committed MIRAGE runs: it reproduces the published retrieval
difference of the 1.5B (evals/reports/mirage_subset_1000/notes.md) and is antisymmetric."""
from __future__ import annotations

from pathlib import Path

import pytest

from medqa.errors import QueryError
from medqa.evals.compare import compare, markdown
from medqa.evals.results import read_rows

RUNS = Path(__file__).resolve().parents[2] / "evals" / "runs" / "mirage_subset_1000"


def _run(pattern: str):
    (path,) = RUNS.glob(pattern)
    return read_rows(path)


def test_paired_difference_reproduces_the_published_rag_row() -> None:
    off, on = _run("*1.5b*rag-off*.jsonl"), _run("*1.5b*rag-on*.jsonl")
    rows = {r.key: r for r in compare(off, on)}
    overall = rows["overall"]
    assert overall.n == 1000 and round(100 * overall.acc_a, 1) == 42.9 and round(100 * overall.acc_b, 1) == 42.4
    assert round(100 * overall.diff, 1) == -0.5 and overall.ci_low < overall.diff < overall.ci_high < 0.03
    assert [round(100 * rows[t].diff, 1) for t in ("mmlu", "medqa", "medmcqa", "pubmedqa")] == [-4.0, 1.6, -1.6, 2.0]
    # only-A minus only-B right is the net difference, in questions
    assert overall.only_b - overall.only_a == sum(b.correct for b in on) - sum(a.correct for a in off)
    back = {r.key: r for r in compare(on, off)}
    assert back["overall"].diff == pytest.approx(-overall.diff)
    table = markdown("off", "on", list(rows.values()))
    assert "| overall | 1000 | 42.9 | 42.4 | **-0.5**" in table


def test_runs_with_no_common_question_are_refused() -> None:
    off, on = _run("*1.5b*rag-off*.jsonl"), _run("*1.5b*rag-on*.jsonl")
    first = {r.id for r in off[:10]}
    with pytest.raises(QueryError, match="share no question"):
        compare(off[:10], [r for r in on if r.id not in first])
