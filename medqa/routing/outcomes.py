"""Evaluation result rows regrouped for routing: per question, what each arm got and what it cost.

An *arm* is one way to answer: a backbone, with or without retrieval, scoring options
or reasoning (chain-of-thought). Routers choose among arms; rows come from the
evaluation runner's JSONL files (medqa.evals.results).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from medqa.config import Settings
from medqa.errors import ConfigError, UnknownName
from medqa.evals.results import ResultRow, read_rows
from medqa.types import Question

# Reading a prompt token costs ~1/4.5 of generating one on llama.cpp (MODELS.md: the
# 1.5B reads ~117 tokens/s and writes ~26), so score-mode passes are cheap but not free.
PREFILL_RATIO = 26 / 117


@dataclass(frozen=True, order=True)
class Arm:
    """One way to answer: backbone x retrieval x reasoning."""

    backbone: str
    rag: bool
    reasoning: bool

    @property
    def key(self) -> str:
        return f"{self.backbone}|{'rag' if self.rag else 'norag'}|{'cot' if self.reasoning else 'score'}"

    @property
    def label(self) -> str:
        return f"{self.backbone} ({'CoT' if self.reasoning else 'score'}, RAG {'on' if self.rag else 'off'})"

    @classmethod
    def from_key(cls, key: str) -> "Arm":
        b, rag, mode = key.rsplit("|", 2)
        return cls(b, rag == "rag", mode == "cot")


@dataclass(frozen=True)
class Cell:
    """One question answered by one arm."""

    correct: bool
    cost: float
    seconds: float
    choice: str | None = None
    margin: float | None = None  # top-1 minus top-2 option probability (score mode)


def row_cost(row: ResultRow) -> float:
    """Cost in reference CPU-seconds: manifest price x tokens, else the measured seconds."""
    from medqa.models.manifest import backbone

    tokens = (row.completion_tokens or 0) + (row.prompt_tokens or 0) * PREFILL_RATIO
    try:
        price = backbone(row.backbone).cost_per_1k
    except UnknownName:
        return row.seconds
    return price * tokens / 1000.0 if tokens else row.seconds


def row_margin(row: ResultRow) -> float | None:
    if not row.probs:
        return None
    p = sorted(row.probs.values(), reverse=True) + [0.0]
    return p[0] - p[1]


@dataclass
class Outcomes:
    """What every arm got on every question, with the questions' tasks."""

    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)  # id -> arm key -> Cell
    task: dict[str, str] = field(default_factory=dict)
    dataset: dict[str, str] = field(default_factory=dict)
    data_hash: str = ""

    @property
    def arms(self) -> list[Arm]:
        keys = {k for per_q in self.cells.values() for k in per_q}
        return sorted(Arm.from_key(k) for k in keys)

    def complete_ids(self, arms: Sequence[Arm] | None = None) -> list[str]:
        """Questions answered by every arm (sorted), so arms compare on the same questions."""
        keys = [a.key for a in (arms or self.arms)]
        return sorted(q for q, per in self.cells.items() if all(k in per for k in keys))

    def restrict(self, ids: Iterable[str]) -> "Outcomes":
        keep = set(ids)
        return Outcomes({q: c for q, c in self.cells.items() if q in keep},
                        {q: t for q, t in self.task.items() if q in keep},
                        {q: d for q, d in self.dataset.items() if q in keep}, self.data_hash)


def from_rows(rows: Iterable[ResultRow]) -> Outcomes:
    """Group rows by question and arm; rows a router produced are not arms and are skipped."""
    out = Outcomes()
    h = hashlib.sha256()
    config_of: dict[str, str] = {}  # arm key -> the configuration whose rows it holds
    for r in rows:
        if r.router or r.rag == "gated":
            continue
        arm = Arm(r.backbone, r.rag == "on", r.mode == "cot")
        # Two configurations of one arm (another prompt version, another k) must not mix silently.
        first = config_of.setdefault(arm.key, r.config_hash)
        if r.config_hash != first:
            raise ConfigError(f"Two configurations ({first}, {r.config_hash}) answer as the same arm {arm.label}.",
                              "Pass the run files of one configuration per arm (older prompt versions live in "
                              "the run folders' prompt_v1/).")
        cell = Cell(bool(r.correct), row_cost(r), r.seconds, r.choice, row_margin(r))
        out.cells.setdefault(r.id, {})[arm.key] = cell
        out.task[r.id], out.dataset[r.id] = r.task, r.dataset
        h.update(f"{r.id}\t{arm.key}\t{int(r.correct)}\t{r.choice}\t{r.config_hash}\n".encode())
    out.data_hash = h.hexdigest()
    return out


def load(paths: Sequence[Path]) -> Outcomes:
    """Outcomes from run files (*.jsonl) or folders of them."""
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    missing = [str(f) for f in files if not f.is_file()]
    if not files or missing:
        raise ConfigError(f"No result files at {missing or [str(p) for p in paths]}.",
                          "Run `medqa eval qa ...` first, or pass the run files it wrote.")
    rows = [r for f in files for r in read_rows(f)]
    return from_rows(sorted(rows, key=lambda r: (r.id, r.backbone, r.mode, r.rag)))


def questions(ids: Iterable[str], datasets: Mapping[str, str], settings: Settings) -> dict[str, Question]:
    """The question text and options of each id, from the evaluation sets the rows name."""
    from medqa.evals.datasets import load_items

    wanted = set(ids)
    out: dict[str, Question] = {}
    for name in sorted({datasets[q] for q in wanted}):
        for it in load_items(name, settings=settings):
            if it.id in wanted:
                out[it.id] = Question(text=it.question, options=dict(it.options), lang=it.lang)
    lost = wanted - set(out)
    if lost:
        raise ConfigError(f"{len(lost)} result ids are not in their evaluation sets (e.g. {sorted(lost)[0]}).",
                          "Check MEDQA_DATA_DIR points at the data the runs used.")
    return out
