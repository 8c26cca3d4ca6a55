"""The oracle test: MIRAGE's published per-question letters, scored by medqa's own parser and
scorer, reproduce the published GPT-3.5 and GPT-4 rows within 0.2 points."""
from __future__ import annotations

import pytest

from medqa.evals.reference import PUBLISHED, SETTINGS, score_reference


@pytest.mark.parametrize("unparsed", ["wrong", "first"])
def test_reference_predictions_reproduce_published_gpt_rows(unparsed):
    # "wrong": an unreadable reply ("NA" in the file) scores 0; "first": MIRAGE's own
    # locate_answer falls back to "A". Both conventions must land within 0.2 points.
    got = score_reference(unparsed=unparsed)
    assert set(got) == set(SETTINGS)
    for row, per_task in got.items():
        for task, acc in per_task.items():
            assert abs(acc - PUBLISHED[row][task]) <= 0.2, (row, task, acc, PUBLISHED[row][task])


def test_unreadable_predictions_are_not_silently_right():
    # GPT-3.5 CoT left 6 MedQA replies unreadable; counting them as wrong must cost points
    # relative to the fallback (a scorer that ignored them would show no difference).
    wrong = score_reference(unparsed="wrong")["GPT-3.5, chain-of-thought"]
    first = score_reference(unparsed="first")["GPT-3.5, chain-of-thought"]
    assert wrong["medqa"] < first["medqa"]
    assert wrong["mmlu"] == first["mmlu"]  # no unreadable MMLU replies
