"""The per-question result row: what the runner appends, the report reads and the router trains on.

One JSON object per line in a run file. Rows are keyed by (config_hash, id): a run file holds
the rows of one configuration, and resuming skips every id already present.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

from pydantic import BaseModel, ConfigDict

from medqa.errors import MedQAError

SCHEMA_VERSION = 1


class ResultRow(BaseModel):
    """One question answered by one configuration (a boundary type: it goes to disk)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str  # "<task>/<question id>", unique within a dataset
    dataset: str  # mirage | mirage_subset_1000 | mirage_train | cmmlu_medical
    task: str  # mmlu | medqa | medmcqa | pubmedqa | cmmlu
    subject: str | None = None  # MMLU / CMMLU subject, when the set has one
    backbone: str  # the model that answered (under a router: the one it picked)
    engine: str  # llamacpp | transformers | vllm | a test engine
    mode: str  # score (option log-probs) | cot (generate, then parse)
    rag: str  # off | on | gated
    k: int = 0  # passages asked of the retriever (0 when rag is off)
    retrieved: bool = False  # whether passages were actually put in the prompt
    oracle_in_corpus: bool = False  # PubMedQA* with its own abstracts in the corpus
    gold_retrieved: bool | None = None  # PubMedQA*: the question's own abstract was retrieved
    router: str | None = None  # router name, when a router picked the backbone
    answer: str  # gold letter
    choice: str | None = None  # predicted letter; None = unparseable generation
    correct: bool
    option_logprobs: dict[str, float] | None = None  # letter -> log-prob (score mode)
    probs: dict[str, float] | None = None  # letter -> softmax over the options (score mode)
    text: str | None = None  # the generated reply (cot mode)
    seconds: float  # wall time of this question (retrieval + model)
    retrieval_seconds: float | None = None  # of which retrieval (and routing), when retrieval ran
    # CPU seconds the whole process spent meanwhile (all engine threads): a cost that a busy,
    # shared machine inflates far less than wall time. Includes other questions in flight.
    cpu_seconds: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    config_hash: str
    schema_version: int = SCHEMA_VERSION

    def outcome(self) -> dict:
        """The row without timing fields: what must be identical across a killed-and-resumed run."""
        return self.model_dump(exclude={"seconds", "retrieval_seconds", "cpu_seconds"})


class CorruptRun(MedQAError):
    """A run file holds a line that is not a result row (other than a torn last line)."""


def read_rows(path: Path) -> list[ResultRow]:
    """Every complete row of a run file; a torn last line (killed mid-write) is ignored."""
    return list(iter_rows(path))


def iter_rows(path: Path) -> Iterator[ResultRow]:
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    # split() leaves "" after the final newline; anything else there is a torn write.
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            yield ResultRow.model_validate_json(line)
        except ValueError:
            if i == len(lines) - 1:
                return  # the last line lost its tail to a kill; resume redoes it
            raise CorruptRun(
                f"{path}:{i + 1} is not a result row.",
                "Delete the file to rerun that configuration, or fix the line by hand.",
            ) from None


def write_rows(path: Path, rows: Iterable[ResultRow]) -> None:
    """Write rows to a fresh file (used by tests and exports; the runner appends)."""
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r.model_dump(), ensure_ascii=False) + "\n")
