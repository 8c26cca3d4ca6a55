"""Ingest jobs that run in one background thread while the app serves, with progress."""
from __future__ import annotations

import queue
import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from medqa.config import Settings
from medqa.errors import MedQAError, UploadRejected
from medqa.storage import full_error, is_disk_full

# What the loaders read, and the first bytes each binary type must start with.
UPLOAD_TYPES = (".md", ".txt", ".html", ".htm", ".pdf", ".docx", ".jsonl")
_MAGIC = {".pdf": b"%PDF-", ".docx": b"PK\x03\x04"}
# The first run indexes this many MedQuAD documents, then the rest, so the app is usable fast.
DEFAULT_SUBSET = 200


def check_upload(name: str, size: int, head: bytes, max_mb: int) -> None:
    """Refuse a file that is too large or not a type medqa reads, saying what is allowed."""
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_TYPES:
        raise UploadRejected(f"{name}: files of type '{suffix or '(none)'}' are not accepted.",
                             f"Upload one of: {', '.join(UPLOAD_TYPES)}.", status=415)
    if size > max_mb * 1024 * 1024:
        raise UploadRejected(f"{name}: {size / 1048576:.1f} MB is over the {max_mb} MB limit.",
                             "Split the document, or raise server.max_upload_mb.", status=413)
    if size == 0:
        raise UploadRejected(f"{name}: the file is empty.", "Upload a file with text in it.",
                             status=415)
    magic = _MAGIC.get(suffix)
    if magic is not None and not head.startswith(magic):
        raise UploadRejected(f"{name}: the content is not a real {suffix} file.",
                             "Save it again from its application and re-upload.", status=415)
    if magic is None:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as e:
            # a cut multi-byte character at the end of the sample is fine
            if e.start < len(head) - 4 or b"\x00" in head:
                raise UploadRejected(f"{name}: this is not UTF-8 text.",
                                     "Convert it to UTF-8 text, or upload it as PDF/DOCX.",
                                     status=415) from None
        if b"\x00" in head:
            raise UploadRejected(f"{name}: this is a binary file, not text.",
                                 f"Upload one of: {', '.join(UPLOAD_TYPES)}.", status=415)


def save_upload(src: Path, name: str, settings: Settings) -> Path:
    """Check an uploaded file and copy it under MEDQA_HOME/uploads/<tenant>/."""
    src = Path(src)
    with open(src, "rb") as f:
        head = f.read(4096)
    check_upload(name, src.stat().st_size, head, settings.server.max_upload_mb)
    safe = re.sub(r"[^\w.\-]+", "_", Path(name).name).lstrip(".") or "upload.txt"
    dest = settings.home / "uploads" / settings.tenant / safe
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    except OSError as e:
        if not is_disk_full(e):
            raise
        dest.unlink(missing_ok=True)  # no half file for a later ingest to index
        raise full_error(f"the upload {safe}", settings.home, held=False) from e
    return dest


@dataclass
class Job:
    """One ingest: its source, progress and outcome (mutable: the worker updates it)."""

    id: str
    source: str
    label: str
    limit: int | None = None
    status: str = "queued"  # queued | running | done | failed
    done: int = 0
    total: int = 0
    message: str = ""
    report: dict[str, Any] = field(default_factory=dict)
    started: float | None = None
    finished: float | None = None

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view for REST and the UI."""
        return {"id": self.id, "source": self.source, "label": self.label, "status": self.status,
                "done": self.done, "total": self.total, "percent": self.percent,
                "message": self.message, "report": self.report}


class IngestJobs:
    """A queue of ingest jobs run one at a time by a daemon thread."""

    def __init__(self, settings: Settings, on_done: Callable[[Job], None] | None = None) -> None:
        self.settings = settings
        self.on_done = on_done
        self.jobs: dict[str, Job] = {}
        self._queue: queue.Queue[Job] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, source: str, label: str | None = None, limit: int | None = None) -> Job:
        """Queue an ingest of a file, folder or corpus name; returns at once."""
        job = Job(uuid.uuid4().hex[:12], str(source), label or Path(str(source)).name, limit)
        with self._lock:
            self.jobs[job.id] = job
            self._queue.put(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="medqa-ingest", daemon=True)
                self._thread.start()
        return job

    def active(self) -> Job | None:
        """The running job, else the first queued one, else None."""
        pending = [j for j in self.jobs.values() if j.status in ("running", "queued")]
        pending.sort(key=lambda j: j.status != "running")
        return pending[0] if pending else None

    def latest(self) -> Job | None:
        """The active job, else the one that finished last (for a status line)."""
        done = [j for j in self.jobs.values() if j.finished is not None]
        return self.active() or (max(done, key=lambda j: j.finished or 0) if done else None)

    def busy(self) -> bool:
        return self.active() is not None

    def wait(self, job_id: str, timeout: float = 600.0) -> Job:
        """Block until a job finishes (tests and `?wait=true` uploads)."""
        deadline = time.monotonic() + timeout
        job = self.jobs[job_id]
        while job.status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.1)
        return job

    def _work(self) -> None:
        from medqa.retrieval.ingest import ingest

        while True:
            try:
                job = self._queue.get(timeout=1.0)
            except queue.Empty:
                return
            job.status, job.started = "running", time.time()

            def progress(done: int, total: int, job: Job = job) -> None:
                job.done, job.total = done, total

            try:
                rep = ingest(job.source, self.settings, progress=progress, limit=job.limit)
                job.report = {k: _plain(getattr(rep, k, None))
                              for k in ("added", "unchanged", "removed", "failed", "seconds")}
                job.status = "done"
            except MedQAError as e:
                job.status, job.message = "failed", str(e)
            except Exception as e:  # a crash in one job must not kill the worker or the app
                job.status, job.message = "failed", f"{type(e).__name__}: {e}"
            job.finished = time.time()
            if self.on_done is not None:
                self.on_done(job)


def _plain(value: Any) -> Any:
    # IngestReport fields may be lists of (path, reason) pairs; keep them JSON-ready.
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)
