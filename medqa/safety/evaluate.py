"""Metrics for triage (labelled set) and PHI redaction (synthetic notes)."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from medqa.config import PROJECT_ROOT
from medqa.errors import DataMissing

TRIAGE_SET = PROJECT_ROOT / "evals" / "triage" / "triage.jsonl"


@dataclass(frozen=True)
class Scores:
    """Precision and recall of the positive class, with the confusion counts."""

    tp: int
    fp: int
    fn: int
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass(frozen=True)
class TriageReport:
    """Scores per split and language, and the misclassified rows (for reading, not tuning held-out)."""

    scores: dict[str, Scores]
    errors: list[dict] = field(default_factory=list)


def load_triage_set(path: Path | None = None) -> list[dict]:
    """The labelled rows: id, text, lang, label (1 = emergency), category, split (dev for fitting; heldout and the blind batches for measuring, see evals/triage/README.md)."""
    path = Path(path or TRIAGE_SET)
    if not path.is_file():
        raise DataMissing(f"Triage set not found at {path}.", "Run from a checkout that has evals/triage/.")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def triage_eval(path: Path | None = None, splits: tuple[str, ...] | None = None) -> TriageReport:
    """Run triage over the labelled set (or some splits); keys like 'dev', 'heldout', 'dev/zh', 'all'."""
    from medqa.safety.triage import triage

    from medqa.safety import learned

    counts: dict[str, Counter] = {}
    errors = []
    rows = [r for r in load_triage_set(path) if splits is None or r["split"] in splits]
    learned.scores([r["text"] for r in rows])  # one batch instead of one embedding call per row
    for row in rows:
        got = triage(row["text"], row["lang"]).emergency
        cell = {(1, True): "tp", (0, True): "fp", (1, False): "fn", (0, False): "tn"}[(row["label"], got)]
        for key in (row["split"], f"{row['split']}/{row['lang']}", "all"):
            counts.setdefault(key, Counter())[cell] += 1
        if cell in ("fp", "fn"):
            errors.append({"id": row["id"], "split": row["split"], "error": cell, "text": row["text"]})
    return TriageReport({k: Scores(c["tp"], c["fp"], c["fn"], c["tn"]) for k, c in counts.items()}, errors)


@dataclass(frozen=True)
class PhiReport:
    """Recall per entity type (an identifier counts only if every character of it was redacted)."""

    recall: dict[str, tuple[int, int]]  # type -> (found, total)
    precision: tuple[int, int]  # (predicted spans touching a gold identifier, predicted spans)
    notes: int
    misses: list[tuple[str, str]] = field(default_factory=list)  # (type, lang): never the values


def _covered(start: int, end: int, spans: list[tuple[int, int]], text: str) -> bool:
    """Every non-space character of [start, end) lies inside some redacted span."""
    return all(
        text[i].isspace() or any(s <= i < e for s, e in spans) for i in range(start, end)
    )


def phi_eval(n: int = 600, seed: int = 13) -> PhiReport:
    """Redact the synthetic notes and score what was caught."""
    from medqa.safety.phi import redact
    from medqa.safety.phi_synth import generate

    found: Counter = Counter()
    total: Counter = Counter()
    hit_pred = n_pred = 0
    misses = []
    notes = generate(n, seed)
    for note in notes:
        spans = [(s, e) for _, s, e in redact(note.text, note.lang).entities]
        for etype, s, e in note.entities:
            total[etype] += 1
            if _covered(s, e, spans, note.text):
                found[etype] += 1
            else:
                misses.append((etype, note.lang))
        for s, e in spans:
            n_pred += 1
            hit_pred += any(s < ge and gs < e for _, gs, ge in note.entities)
    return PhiReport({t: (found[t], total[t]) for t in sorted(total)}, (hit_pred, n_pred), len(notes), misses)


def false_redactions(limit: int = 1000) -> dict[str, tuple[int, int]]:
    """How many PHI-free questions (triage set; MedQuAD and CMMLU when the data is there) get a redaction."""
    from medqa.data import resolve
    from medqa.errors import MedQAError
    from medqa.safety.phi import redact

    sets = {"triage set": [r["text"] for r in load_triage_set()]}
    for label, name in (("medquad", "medquad_retrieval_dev"), ("cmmlu", "cmmlu_medical")):
        try:
            lines = resolve(name).read_text(encoding="utf-8").splitlines()[:limit]
        except MedQAError:  # the shared data is optional for this number
            continue
        sets[label] = [json.loads(x)["question"] for x in lines if x.strip()]
    return {label: (sum(bool(redact(t).entities) for t in texts), len(texts)) for label, texts in sets.items()}
