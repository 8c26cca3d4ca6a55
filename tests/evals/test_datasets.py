"""Evaluation sets load with the published counts and the selection flags behave."""
from __future__ import annotations

import pytest

from medqa.errors import UnknownName
from medqa.evals.datasets import load_items


def test_mirage_counts_and_ids():
    items = load_items("mirage")
    counts = {t: sum(it.task == t for it in items) for t in ("mmlu", "medqa", "medmcqa", "pubmedqa")}
    assert counts == {"mmlu": 1089, "medqa": 1273, "medmcqa": 4183, "pubmedqa": 500}
    assert len({it.id for it in items}) == len(items)
    mmlu = next(it for it in items if it.task == "mmlu")
    assert mmlu.subject and mmlu.id.startswith("mmlu/")
    pub = next(it for it in items if it.task == "pubmedqa")
    assert dict(pub.options) == {"A": "yes", "B": "no", "C": "maybe"} and pub.pmids


def test_subset_is_a_subset_of_mirage_with_the_same_answers():
    full = {it.id: it for it in load_items("mirage")}
    sub = load_items("mirage_subset_1000")
    assert len(sub) == 1000 and {t: sum(it.task == t for it in sub) for t in full_tasks(sub)} == {
        "mmlu": 250, "medqa": 250, "medmcqa": 250, "pubmedqa": 250}
    assert all(full[it.id].answer == it.answer for it in sub)


def full_tasks(items):
    return sorted({it.task for it in items})


def test_limit_is_per_task_and_keeps_file_order():
    sub = load_items("mirage_subset_1000")
    first = load_items("mirage_subset_1000", limit=3)
    assert [it.id for it in first if it.task == "medqa"] == [it.id for it in sub if it.task == "medqa"][:3]
    assert len(first) == 12
    assert [it.task for it in load_items("mirage_subset_1000", tasks=["pubmedqa"], limit=2)] == ["pubmedqa"] * 2


def test_cmmlu_is_chinese_test_split_and_limit_is_per_subject():
    items = load_items("cmmlu_medical")
    assert len(items) == 1941 and all(it.lang == "zh" and "/dev/" not in it.id for it in items)
    small = load_items("cmmlu_medical", limit=2)
    assert len(small) == 20 and len({it.subject for it in small}) == 10


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UnknownName, match="mirage_subset_1000"):
        load_items("mirage_subset")
    with pytest.raises(UnknownName, match="pubmedqa"):
        load_items("mirage", tasks=["bioasq"])


def test_mirage_train_is_mirage_minus_the_subset_in_a_fixed_shuffled_order():
    train = load_items("mirage_train")
    subset_ids = {it.id for it in load_items("mirage_subset_1000")}
    mirage = {it.id: it for it in load_items("mirage")}
    assert len(train) == len(mirage) - len(subset_ids)
    assert not subset_ids & {it.id for it in train}
    assert all(it.answer == mirage[it.id].answer and it.dataset == "mirage_train" for it in train)
    sample = [it.id for it in load_items("mirage_train", limit=5)]
    assert sample == [it.id for it in load_items("mirage_train", limit=5)]  # seeded, not random per call
    per_task = [i for i in sample if i.startswith("medqa/")]
    assert len(per_task) == 5 and per_task != sorted(per_task)  # a sample, not the first ids
