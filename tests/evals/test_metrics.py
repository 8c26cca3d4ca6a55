"""Metrics against hand-computed values."""
from __future__ import annotations

import math

import numpy as np

from medqa.evals import metrics
from medqa.evals.results import ResultRow


def row(qid, task="mmlu", choice="A", answer="A", probs=None, seconds=1.0, backbone="m"):
    return ResultRow(id=f"{task}/{qid}", dataset="t", task=task, backbone=backbone, engine="e",
                     mode="score", rag="off", answer=answer, choice=choice, correct=choice == answer,
                     probs=probs, seconds=seconds, config_hash="h")


def test_bootstrap_is_seeded_and_degenerate_cases_are_exact():
    g = [[True] * 30 + [False] * 70]
    assert metrics.bootstrap_ci(g, seed=1) == metrics.bootstrap_ci(g, seed=1)
    assert metrics.bootstrap_ci(g, seed=1) != metrics.bootstrap_ci(g, seed=2)
    assert metrics.bootstrap_ci([[True] * 10]) == (1.0, 1.0)
    lo, hi = metrics.bootstrap_ci([[True, False] * 50])
    # binomial: 0.5 +- 1.96 * sqrt(.25/100) = [0.402, 0.598]
    assert abs(lo - 0.402) < 0.02 and abs(hi - 0.598) < 0.02


def test_overall_is_the_mean_of_task_accuracies():
    rows = [row(i, "mmlu") for i in range(4)] + [row(i, "pubmedqa", choice="B") for i in range(4)]
    rows.append(row(9, "pubmedqa"))  # pubmedqa: 1/5 right; mmlu: 4/4
    st = metrics.by_task(rows)
    assert st["mmlu"].accuracy == 1.0 and st["pubmedqa"].accuracy == 0.2
    assert math.isclose(st["overall"].accuracy, 0.6)  # not 5/9 pooled
    assert st["overall"].n == 9


def test_ece_by_hand():
    rows = [
        row(1, probs={"A": 0.9, "B": 0.1}),  # conf .9, right
        row(2, answer="B", choice="A", probs={"A": 0.9, "B": 0.1}),  # conf .9, wrong
        row(3, probs={"A": 0.35, "B": 0.65}, answer="B", choice="B"),  # conf .65, right
    ]
    # bin .9: |0.5 - 0.9| * 2/3 ; bin .6: |1 - .65| * 1/3
    assert math.isclose(metrics.expected_calibration_error(rows), 0.4 * 2 / 3 + 0.35 / 3)
    assert metrics.expected_calibration_error([row(1)]) is None


def test_agreement_and_oracle_by_hand():
    a = [row(1, choice="A"), row(2, choice="B", answer="C"), row(3, choice="C", answer="D")]
    b = [row(1, choice="A"), row(2, choice="C", answer="C"), row(3, choice="A", answer="D")]
    names, m = metrics.agreement_matrix({"a": a, "b": b})
    assert names == ["a", "b"] and np.isclose(m[0, 1], 1 / 3) and np.isclose(m[0, 0], 1.0)
    acc, n = metrics.oracle_accuracy({"a": a, "b": b})
    assert n == 3 and math.isclose(acc, 2 / 3)


def test_is_correct_conventions():
    assert metrics.is_correct(None, "A", ["A", "B"], "first") is True
    assert metrics.is_correct(None, "A", ["A", "B"], "wrong") is False
    assert metrics.is_correct("B", "B", ["A", "B"]) is True
