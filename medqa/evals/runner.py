"""The batch runner: one configuration over a list of questions, appended to a JSONL run file.

Each finished question is one line, flushed and fsync'd before the next is counted, so a
kill loses at most the questions in flight; starting again skips every id in the file.
Every question's answer depends only on the question and the configuration (greedy, no
shared state), so a killed-and-resumed run holds the same rows as an uninterrupted one.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from medqa.errors import ConfigError, StorageFull
from medqa.evals import prompts
from medqa.evals.datasets import EvalItem
from medqa.evals.metrics import softmax
from medqa.evals.parsing import parse_choice
from medqa.evals.results import ResultRow, read_rows
from medqa.models.base import Backend
from medqa.storage import atomic_write_text, is_disk_full
from medqa.types import GenParams, Passage, Question

MODES = ("score", "cot")
RAG_SETTINGS = ("off", "on", "gated")
LOGPROB_DIGITS = 5  # stored rounding: far below any difference that changes a choice


@dataclass(frozen=True)
class RunConfig:
    """Everything that changes an answer; its hash names the run file."""

    dataset: str
    backbone: str  # a backbone name, or "route:<router>" when a router picks per question
    engine: str
    mode: str = "score"
    rag: str = "off"
    k: int = 0
    corpora: tuple[str, ...] = ()
    router: str | None = None
    prompt_version: str = prompts.PROMPT_VERSION
    max_tokens: int = 384  # cot only

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"Unknown mode {self.mode!r}.", f"Use one of: {', '.join(MODES)}.")
        if self.rag not in RAG_SETTINGS:
            raise ConfigError(f"Unknown rag setting {self.rag!r}.", f"Use one of: {', '.join(RAG_SETTINGS)}.")
        # Settings that cannot change an answer must not change the hash either.
        if self.mode == "score":
            object.__setattr__(self, "max_tokens", 0)
        if self.rag == "off":
            object.__setattr__(self, "k", 0)
            object.__setattr__(self, "corpora", ())

    def hash(self) -> str:
        """Stable 12-hex digest of the configuration."""
        blob = json.dumps(asdict(self), sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def slug(self) -> str:
        """A readable file stem: set, backbone, mode, rag, hash."""
        who = self.backbone.replace("/", "_").replace(":", "-")
        return f"{self.dataset}__{who}__{self.mode}__rag-{self.rag}__{self.hash()}"


@dataclass
class RunStats:
    """What one call to `run` did (for progress reports and tests)."""

    total: int = 0
    skipped: int = 0
    done: int = 0
    seconds: float = 0.0
    path: Path | None = None
    rows: list[ResultRow] = field(default_factory=list)


class RunFile:
    """Append-only JSONL of one configuration; repairs a torn last line on open."""

    def __init__(self, path: Path, config: RunConfig) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._note_session(self.path.with_suffix(".config.json"), config)
        self._repair()
        self._lock = threading.Lock()
        self._f = open(self.path, "a", encoding="utf-8")

    @staticmethod
    def _note_session(meta: Path, config: RunConfig) -> None:
        # Seconds per question mean little without the machine and its load: each start of
        # the run records both beside the configuration (outside the hash).
        info = json.loads(meta.read_text()) if meta.exists() else {**asdict(config), "config_hash": config.hash()}
        info.setdefault("sessions", []).append({
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": platform.node(), "cpus": os.cpu_count(), "machine": platform.machine(),
            "loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        })
        try:  # written aside and renamed: a full disk must not leave the record empty
            atomic_write_text(meta, json.dumps(info, indent=2) + "\n")
        except OSError as e:
            if not is_disk_full(e):
                raise
            raise StorageFull(f"The disk is full: {meta} could not be updated; the run did not start.",
                              "Free space on that disk and run the same command again.") from e

    def _repair(self) -> None:
        # A kill between write() and the newline leaves a partial line: cut it off so the
        # next append starts on a fresh line (its question is redone).
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def done_ids(self) -> set[str]:
        return {r.id for r in read_rows(self.path)} if self.path.exists() else set()

    def append(self, row: ResultRow) -> None:
        line = json.dumps(row.model_dump(), ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            try:
                self._f.write(line)
                self._f.flush()
                os.fsync(self._f.fileno())
            except OSError as e:
                if not is_disk_full(e):
                    raise
                raise StorageFull(
                    f"The disk is full: question {row.id} could not be written to {self.path}; "
                    "every row written before it is kept.",
                    "Free space on that disk and run the same command again: it resumes where it "
                    "stopped.") from e

    def close(self) -> None:
        try:
            self._f.close()
        except OSError as e:  # the unwritten tail of a full disk: already reported, and repaired on reopen
            if not is_disk_full(e):
                raise


class Answerer:
    """Answers one question under one configuration: retrieve (question only), then score or generate."""

    def __init__(
        self,
        config: RunConfig,
        backend_for: Callable[[str], Backend],
        retriever=None,  # anything with search(query, k) -> list[Passage]
        router=None,  # a medqa.routing Router, when config.router is set
    ) -> None:
        if config.rag != "off" and retriever is None:
            raise ConfigError("RAG is on but no retriever was given.", "Build the index first: medqa ingest.")
        if config.rag == "gated" and router is None:
            raise ConfigError("--rag gated needs a router to decide per question.", "Pass --router NAME.")
        self.config, self.backend_for, self.retriever, self.router = config, backend_for, retriever, router

    def _route(self, item: EvalItem) -> tuple[str, bool]:
        c = self.config
        if self.router is None:
            return c.backbone, c.rag == "on"
        route = self.router.route(Question(text=item.question, options=dict(item.options), lang=item.lang))
        retrieve = {"off": False, "on": True, "gated": route.retrieve}[c.rag]
        return route.backbones[0], retrieve

    def __call__(self, item: EvalItem) -> ResultRow:
        c = self.config
        t0, cpu0 = time.perf_counter(), time.process_time()
        backbone, retrieve = self._route(item)
        # MIRAGE retrieves with the question alone: the options would leak the answer set.
        passages: list[Passage] = self.retriever.search(item.question, c.k) if retrieve else []
        t_retrieved = time.perf_counter()
        backend = self.backend_for(backbone)
        fields: dict = {}
        if c.mode == "score":
            prompt, conts = prompts.score_prompt(item, passages)
            lps = backend.score_options(prompt, conts)
            letters = sorted(item.options)
            logprobs = {k: round(float(v), LOGPROB_DIGITS) for k, v in zip(letters, lps)}
            probs = {k: round(v, LOGPROB_DIGITS) for k, v in softmax(logprobs).items()}
            # Ties go to the earliest letter, deterministically.
            choice = max(letters, key=lambda k: (logprobs[k], -letters.index(k)))
            fields.update(option_logprobs=logprobs, probs=probs, prompt_tokens=_count(backend, prompt))
        else:
            params = GenParams(max_tokens=c.max_tokens, temperature=0.0, seed=0)
            text, ptok, ctok = [], None, None
            for d in backend.chat(prompts.messages(item, passages), params):
                text.append(d.text)
                ptok = d.prompt_tokens if d.prompt_tokens is not None else ptok
                ctok = d.completion_tokens if d.completion_tokens is not None else ctok
            reply = "".join(text)
            choice = parse_choice(reply, item.options)
            fields.update(text=reply, prompt_tokens=ptok, completion_tokens=ctok)
        return ResultRow(
            id=item.id,
            dataset=item.dataset,
            task=item.task,
            subject=item.subject,
            backbone=backbone,
            engine=c.engine,
            mode=c.mode,
            rag=c.rag,
            k=c.k if c.rag != "off" else 0,
            retrieved=bool(passages),
            oracle_in_corpus=item.task == "pubmedqa" and "pubmedqa" in c.corpora and bool(passages),
            gold_retrieved=_gold_retrieved(item, passages),
            router=c.router,
            answer=item.answer,
            choice=choice,
            correct=choice == item.answer,
            seconds=round(time.perf_counter() - t0, 4),
            retrieval_seconds=round(t_retrieved - t0, 4) if retrieve else None,
            cpu_seconds=round(time.process_time() - cpu0, 4),
            config_hash=c.hash(),
            **fields,
        )


def _count(backend: Backend, prompt: str) -> int | None:
    tok = getattr(backend, "tokenize", None)
    return len(tok(prompt)) if tok else None


def _gold_retrieved(item: EvalItem, passages: Sequence[Passage]) -> bool | None:
    # Only PubMedQA* knows its gold document (the question's own abstract).
    if not item.pmids or not passages:
        return None
    gold = {f"PMID:{p}" for p in item.pmids} | {str(p) for p in item.pmids}
    return any(p.doc_id in gold for p in passages)


def _ordered_results(answer: Callable[[EvalItem], ResultRow], todo: Sequence[EvalItem], workers: int) -> Iterator[ResultRow]:
    if workers <= 1:
        for it in todo:
            yield answer(it)
        return
    # Requests in flight at once: a server (vLLM) batches them; an in-process engine
    # overlaps retrieval of the next question with scoring of this one.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        window: list = []
        it_todo = iter(todo)
        for it in it_todo:
            window.append(pool.submit(answer, it))
            if len(window) >= workers * 2:
                yield window.pop(0).result()
        for fut in window:
            yield fut.result()


def run(
    config: RunConfig,
    items: Sequence[EvalItem],
    answer: Callable[[EvalItem], ResultRow],
    out_dir: Path,
    concurrency: int = 1,
    progress: bool = True,
    on_row: Callable[[ResultRow], None] | None = None,
) -> RunStats:
    """Answer every item not yet in this configuration's run file; returns the rows of `items`."""
    rf = RunFile(Path(out_dir) / f"{config.slug()}.jsonl", config)
    done = rf.done_ids()
    todo = [it for it in items if it.id not in done]
    stats = RunStats(total=len(items), skipped=len(items) - len(todo), path=rf.path)
    t0 = time.perf_counter()
    try:
        with _progress(progress, config, len(items), stats.skipped) as advance:
            for row in _ordered_results(answer, todo, concurrency):
                rf.append(row)
                stats.done += 1
                advance(row)
                if on_row:
                    on_row(row)
    finally:
        rf.close()
    stats.seconds = time.perf_counter() - t0
    wanted = {it.id for it in items}
    by_id = {r.id: r for r in read_rows(rf.path) if r.id in wanted}
    stats.rows = [by_id[it.id] for it in items if it.id in by_id]
    return stats


class _progress:
    """A rich progress bar with rate and ETA (or nothing when disabled)."""

    def __init__(self, enabled: bool, config: RunConfig, total: int, skipped: int) -> None:
        self.enabled, self.config, self.total, self.skipped = enabled, config, total, skipped
        self.right = 0
        self.n = 0

    def __enter__(self) -> Callable[[ResultRow], None]:
        if not self.enabled:
            return lambda row: None
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self._p = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} q/s"),
            TextColumn("acc {task.fields[acc]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        self._p.__enter__()
        c = self.config
        label = f"{c.backbone} {c.mode} rag={c.rag}"
        self._t = self._p.add_task(label, total=self.total, completed=self.skipped, rate="-", acc="-")
        self._t0 = time.perf_counter()

        def advance(row: ResultRow) -> None:
            self.n += 1
            self.right += row.correct
            rate = self.n / max(time.perf_counter() - self._t0, 1e-9)
            self._p.update(self._t, advance=1, rate=f"{rate:.2f}", acc=f"{self.right / self.n:.1%}")

        return advance

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._p.__exit__(*exc)
