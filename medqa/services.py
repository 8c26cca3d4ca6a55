"""What the web app and the REST API share: users, history, audit, ingest jobs, the Assistant."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator

from medqa.auth import UserStore
from medqa.config import Settings
from medqa.errors import IndexMissing, MedQAError, StorageFull
from medqa.history import History
from medqa.jobs import DEFAULT_SUBSET, IngestJobs, Job
from medqa.types import Answer, Event, Passage, Question

class Services:
    """One per server process; every front end goes through it, so they behave the same."""

    def __init__(self, settings: Settings, assistant: Any = None) -> None:
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self.users = UserStore.open(settings)
        self.history = History(settings.home / "history.sqlite3")
        self.jobs = IngestJobs(settings, on_done=self._job_done)
        self._assistant = assistant
        self._retriever: Any = None
        self._lock = threading.RLock()

    # ---- the parts, built on first use (models and stores are heavy) ----
    def assistant(self) -> Any:
        """The Assistant (loads backbones on first use)."""
        with self._lock:
            if self._assistant is None:
                from medqa.pipeline import Assistant

                self._assistant = Assistant.from_settings(self.settings)
            return self._assistant

    def retriever(self) -> Any:
        """The hybrid retriever (cached per process; it reloads itself after each ingest).

        Opening it while an ingest runs would wait for that ingest's lock, so while the
        first index is being built this says how far it is instead of blocking the request.
        """
        with self._lock:
            if self._retriever is None:
                job = self.jobs.active()
                if job is not None:
                    raise IndexMissing(
                        f"The index is being built: {job.label} {job.percent}% "
                        f"({job.done} of {job.total or '?'} chunks).",
                        "Searches and answers start as soon as this first part is indexed.")
                from medqa.retrieval.hybrid import open_retriever

                self._retriever = open_retriever(self.settings)
            return self._retriever

    def audit(self) -> Any:
        """The Assistant's audit log (feedback is stored with each answer's record)."""
        return self.assistant().audit()

    def _job_done(self, job: Job) -> None:
        # Runs in the ingest thread between jobs: open the retriever now, while no ingest
        # holds the index lock, so later requests never wait for the next job.
        if job.status == "done":
            self._warm()
        # A default corpus counts as indexed only once a whole (unlimited) ingest finished.
        if job.status == "done" and job.limit is None and job.source in self.settings.retrieval.default_corpora:
            self._marker(job.source).touch()

    def _warm(self) -> None:
        from medqa.retrieval.hybrid import open_retriever

        try:
            retriever = open_retriever(self.settings)
        except MedQAError:
            return
        with self._lock:
            self._retriever = retriever

    def _marker(self, corpus: str) -> Path:
        return self.settings.index_dir / f".default-{corpus}-complete"

    # ---- operations the front ends call ----
    def search(self, query: str, k: int = 5) -> list[Passage]:
        """Retrieval only (no model): the passages that best match `query`."""
        return list(self.retriever().search(query, k))

    def stream(self, q: Question, conversation: str | None = None) -> Iterator[Event]:
        """The Assistant's events for `q`; the Answer is audited and saved in the user's history."""
        if self._retriever is None and self.jobs.busy():
            self.retriever()  # says "indexing N%" rather than wait while the first index is built
        # The Assistant records every request in the audit log; here only the user's history.
        for ev in self.assistant().stream(q):
            if isinstance(ev, Answer) and conversation is not None:
                try:
                    self.history.add(q.user, conversation, q.text, ev.text, ev.request_id,
                                     q.workflow, q.tenant)
                except StorageFull as e:  # the answer still reaches the user, with the reason
                    ev = ev.with_error(str(e))
            yield ev

    def ask(self, q: Question, conversation: str | None = None) -> Answer:
        """Run `q` to the end and return the Answer."""
        answer = None
        for ev in self.stream(q, conversation):
            if isinstance(ev, Answer):
                answer = ev
        assert answer is not None, "the Assistant's stream ended without an Answer"
        return answer

    def feedback(self, request_id: str, user: str, thumbs: int, comment: str = "") -> None:
        """Store thumbs (+1 / -1) and a comment with the answer's audit record."""
        self.audit().feedback(request_id, user, thumbs, comment)

    # ---- indexing state ----
    def ingest_default(self, subset: int = DEFAULT_SUBSET) -> list[Job]:
        """Queue each default corpus not fully indexed yet: a subset first (usable within a
        minute or two) when nothing of it is indexed, then all of it (idempotent)."""
        from medqa.retrieval.hybrid import list_sources

        have = {s["source"] for s in list_sources(self.settings)}
        if have:
            self._warm()  # before any job takes the index lock
        jobs = []
        for corpus in self.settings.retrieval.default_corpora:
            if self._marker(corpus).exists():
                continue
            if corpus not in have:
                jobs.append(self.jobs.submit(corpus, f"{corpus} (first {subset} documents)", subset))
            jobs.append(self.jobs.submit(corpus, corpus, None))
        return jobs

    def indexing(self) -> dict[str, Any] | None:
        """The running ingest's progress, or None when nothing is being indexed."""
        job = self.jobs.active()
        return job.as_dict() if job else None

    def health(self) -> dict[str, Any]:
        """Store, backends and ingest state (never loads a model to find out)."""
        out: dict[str, Any] = {"status": "ok", "indexing": self.indexing(), "disk": self._disk()}
        if out["disk"]["low"] or out["disk"]["held_records"]:
            out["status"] = "degraded"
        try:
            from medqa.retrieval.hybrid import index_status

            out["index"] = _jsonable(index_status(self.settings))
        except Exception as e:  # health must report, not raise
            out["index"] = {"error": str(e)}
            out["status"] = "degraded"
        assistant = self._assistant
        if assistant is not None and hasattr(assistant, "health"):
            try:
                out["backends"] = _jsonable(assistant.health())
            except Exception as e:
                out["backends"] = {"error": str(e)}
        else:
            out["backends"] = {"loaded": assistant is not None,
                               "roles": dict(self.settings.models.roles)}
        return out

    def _disk(self) -> dict[str, Any]:
        """Free space under MEDQA_HOME, and records a full disk made wait in memory."""
        from medqa.storage import free_mb

        free = free_mb(self.settings.home)
        a = self._assistant
        held = self.history.held + (a.audit().held if a is not None and hasattr(a, "audit") else 0)
        return {"free_mb": round(free), "min_free_mb": self.settings.min_free_mb,
                "low": free < self.settings.min_free_mb, "held_records": held}


def _jsonable(value: Any) -> Any:
    """Dataclasses, mappings and sequences as plain JSON values."""
    import dataclasses
    from pathlib import Path

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
