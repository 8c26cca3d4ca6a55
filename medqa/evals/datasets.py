"""Evaluation sets as frozen items: MIRAGE (full), its 1,000-question subset, CMMLU medical."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping

from medqa.config import Settings, load_settings
from medqa.data import resolve
from medqa.errors import UnknownName

MIRAGE_TASKS = ("mmlu", "medqa", "medmcqa", "pubmedqa")
TASK_LABELS = {"mmlu": "MMLU-Med", "medqa": "MedQA-US", "medmcqa": "MedMCQA", "pubmedqa": "PubMedQA*",
               "cmmlu": "CMMLU-med"}


@dataclass(frozen=True)
class EvalItem:
    """One multiple-choice question with its gold letter."""

    id: str  # "<task>/<id>" (the subset's own ids have this form already)
    dataset: str
    task: str
    question: str
    options: Mapping[str, str]
    answer: str
    subject: str | None = None
    lang: str = "en"
    pmids: tuple[int, ...] = ()
    reference_predictions: Mapping[str, str] = field(default_factory=dict)


def _mmlu_subject(qid: str) -> str:
    # MIRAGE's MMLU ids are "<subject>-<nnn>", e.g. "college_medicine-012".
    return qid.rsplit("-", 1)[0]


def _mirage_item(dataset: str, task: str, qid: str, raw: dict) -> EvalItem:
    return EvalItem(
        id=f"{task}/{qid}",
        dataset=dataset,
        task=task,
        question=raw["question"],
        options=dict(raw["options"]),
        answer=raw["answer"],
        subject=_mmlu_subject(qid) if task == "mmlu" else None,
        pmids=tuple(raw.get("PMID") or ()),
        reference_predictions=dict(raw.get("reference_predictions") or {}),
    )


@lru_cache(maxsize=4)
def _load_mirage(path: Path) -> tuple[EvalItem, ...]:
    data = json.loads(path.read_text(encoding="utf-8"))
    out: list[EvalItem] = []
    for task in MIRAGE_TASKS:
        # MIRAGE's evaluate.py walks each task in sorted id order; so do we.
        for qid in sorted(data[task]):
            out.append(_mirage_item("mirage", task, qid, data[task][qid]))
    return tuple(out)


@lru_cache(maxsize=4)
def _load_subset(path: Path) -> tuple[EvalItem, ...]:
    out: list[EvalItem] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            task, qid = raw["id"].split("/", 1)
            out.append(_mirage_item("mirage_subset_1000", task, qid, raw))
    return tuple(out)


TRAIN_SEED = 20261123


@lru_cache(maxsize=4)
def _load_mirage_train(mirage_path: Path, subset_path: Path) -> tuple[EvalItem, ...]:
    """MIRAGE without the questions of mirage_subset_1000, each task in a seeded shuffled
    order, so `--limit N` is a fixed random sample of N per task (the router's training set)."""
    import random

    held_out = {it.id for it in _load_subset(subset_path)}
    out: list[EvalItem] = []
    for task in MIRAGE_TASKS:
        items = [it for it in _load_mirage(mirage_path) if it.task == task and it.id not in held_out]
        random.Random(f"{TRAIN_SEED}-{task}").shuffle(items)
        out.extend(replace(it, dataset="mirage_train") for it in items)
    return tuple(out)


@lru_cache(maxsize=4)
def _load_cmmlu(path: Path) -> tuple[EvalItem, ...]:
    out: list[EvalItem] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        if raw.get("split") == "dev":
            continue  # CMMLU's dev questions are few-shot exemplars, not test items
        out.append(
            EvalItem(
                id=raw["id"],
                dataset="cmmlu_medical",
                task="cmmlu",
                question=raw["question"],
                options=dict(raw["options"]),
                answer=raw["answer"],
                subject=raw["subject"],
                lang="zh",
            )
        )
    return tuple(out)


_LOADERS: dict[str, tuple[tuple[str, ...], Callable[..., tuple[EvalItem, ...]]]] = {
    "mirage": (("mirage",), _load_mirage),
    "mirage_subset_1000": (("mirage_subset_1000",), _load_subset),
    "mirage_train": (("mirage", "mirage_subset_1000"), _load_mirage_train),
    "cmmlu_medical": (("cmmlu_medical",), _load_cmmlu),
}


def dataset_names() -> list[str]:
    return sorted(_LOADERS)


def load_items(
    name: str,
    tasks: list[str] | tuple[str, ...] | None = None,
    limit: int | None = None,
    settings: Settings | None = None,
) -> list[EvalItem]:
    """Items of an evaluation set, optionally only some tasks and the first `limit` of each task.

    CMMLU has one task; its `limit` applies per subject so a small run still covers all ten.
    """
    if name not in _LOADERS:
        raise UnknownName("evaluation set", name, dataset_names())
    manifest_names, loader = _LOADERS[name]
    settings = settings or load_settings()
    items = loader(*(resolve(m, settings) for m in manifest_names))
    present = sorted({it.task for it in items})
    if tasks:
        for t in tasks:
            if t not in present:
                raise UnknownName(f"task of {name}", t, present)
        items = tuple(it for it in items if it.task in tasks)
    if limit is not None:
        seen: dict[str | None, int] = {}
        kept = []
        for it in items:
            key = it.subject if it.dataset == "cmmlu_medical" else it.task
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= limit:
                kept.append(it)
        items = tuple(kept)
    return list(items)


def reference_predictions(settings: Settings | None = None) -> dict[str, dict[str, dict[str, str]]]:
    """MIRAGE's published letters: {task: {setting: {question id: letter}}}."""
    path = resolve("mirage_reference_predictions", settings or load_settings())
    return json.loads(path.read_text(encoding="utf-8"))
