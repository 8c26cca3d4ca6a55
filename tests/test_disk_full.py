"""A full disk, for real: MEDQA_HOME on a small tmpfs that is then filled to the last byte.

The user still gets the answer (here an emergency, which needs no model) with what happened
and what to do; the audit record and the history turn the disk refused are held in memory and
written, in order and hash-chained, once there is room; an upload leaves no half file; an
ingest that fills the disk keeps what it committed and resumes. Needs root to mount the tmpfs
(CI runs as root); the audit-log test at the end injects SQLite's own 'disk is full' instead
and runs anywhere.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from medqa.audit import AuditLog
from medqa.config import Settings
from medqa.errors import StorageFull
from medqa.jobs import save_upload
from medqa.pipeline import Assistant
from medqa.retrieval.ingest import ingest
from medqa.services import Services
from medqa.types import Question

CHEST = "My father has crushing chest pain spreading to his left arm and is sweating"
STROKE = "我爸爸突然口角歪斜，说话不清楚，右手没力气"


def test_answers_survive_a_full_disk_and_their_records_are_written_later(small_disk: Path, fill) -> None:
    # Emergencies are answered before any model or index is opened (tests/test_pipeline_safety.py).
    a = Assistant.from_settings(Settings(home=small_disk, min_free_mb=1))
    svc = Services(a.settings, assistant=a)
    a.audit()  # the log exists before the disk fills, as in any running deployment
    filler = fill(small_disk)

    first = svc.ask(Question(CHEST, user="nurse.wu"), conversation="c1")
    assert first.emergency and first.text  # the emergency advice is not withheld
    assert first.error.count("The server's disk is full") == 2  # audit record and history turn
    assert "Tell IT: free space" in first.error and "held in memory" in first.error
    health = svc.health()
    assert health["status"] == "degraded" and health["disk"]["held_records"] == 2
    assert health["disk"]["low"]

    filler.unlink()  # IT frees space
    second = svc.ask(Question(STROKE, user="nurse.wu"), conversation="c1")
    assert second.emergency and not second.error
    assert svc.health()["disk"]["held_records"] == 0 and svc.health()["status"] == "ok"
    # Both requests are in the audit log, in the order they happened, and the chain verifies.
    log = AuditLog(a.settings.audit_db)
    rows = [r for r in log.history("nurse.wu") if r["kind"] == "request"]
    assert [r["request_id"] for r in sorted(rows, key=lambda r: r["seq"])] == [first.request_id, second.request_id]
    assert log.verify().ok
    turns = svc.history.turns("nurse.wu", "c1")
    assert [t.question for t in reversed(turns)] == [CHEST, STROKE]


def test_an_upload_on_a_full_disk_leaves_no_half_file(small_disk: Path, tmp_path: Path, fill) -> None:
    settings = Settings(home=small_disk / "home")
    (settings.home / "uploads" / settings.tenant).mkdir(parents=True)
    src = tmp_path / "protocol.md"
    src.write_text("# Sepsis protocol\n\n" + "Give antibiotics within one hour. " * 3000)
    fill(small_disk, leave=8192)
    with pytest.raises(StorageFull) as err:
        save_upload(src, "protocol.md", settings)
    assert "protocol.md" in str(err.value) and "Tell IT" in str(err.value)
    assert not list((settings.home / "uploads").rglob("*.md"))


def test_ingest_that_fills_the_disk_keeps_what_it_committed_and_resumes(
        small_disk: Path, tmp_path: Path, fill) -> None:
    settings = Settings(home=small_disk / "home", min_free_mb=0)
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(400):
        (docs / f"leaflet-{i:03d}.md").write_text(
            f"# Leaflet {i}\n\n" + f"Ward {i} visiting hours and discharge advice, item {i}. " * 60)
    first = ingest(docs, settings, limit=5)
    assert first.added
    filler = fill(small_disk, leave=3 << 20)
    with pytest.raises(StorageFull) as err:
        ingest(docs, settings)
    assert "run the same ingest again" in str(err.value)
    # A process that opens the index now (the disk still full) cannot bring BM25 up to date:
    # it serves the previous generation instead of failing every search.
    from medqa.retrieval.hybrid import HybridRetriever

    served = HybridRetriever(settings).search("Ward 3 visiting hours and discharge advice", k=3)
    assert served and served[0].title == "Leaflet 3"
    filler.unlink()
    again = ingest(docs, settings)  # the same process: the embedded Chroma was reset, not wedged
    from medqa.retrieval.manifest import Manifest

    m = Manifest(settings.index_dir)
    try:
        assert len(m.doc_hashes()) == 400  # every leaflet, once
    finally:
        m.close()
    assert again.unchanged > first.added  # what the interrupted run committed was not redone


def test_ingest_refuses_to_start_without_room(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", min_free_mb=10**9)
    doc = tmp_path / "a.md"
    doc.write_text("# A\n\nText.")
    with pytest.raises(StorageFull, match="did not start"):
        ingest(doc, settings)
    assert not settings.index_dir.exists() or not any(settings.index_dir.iterdir())


def test_audit_record_refused_by_sqlite_is_held_then_chained(tmp_path: Path) -> None:
    """SQLite's SQLITE_FULL, injected by capping the file's pages: the same error a full disk gives."""
    log = AuditLog(tmp_path / "audit.sqlite3")
    log.record(request_id="r1", user="u", question="first")
    pages = log._db.execute("PRAGMA page_count").fetchone()[0]
    log._db.execute(f"PRAGMA max_page_count = {pages}")
    log._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    refused = 0
    for i in range(2, 200):  # until the capped file is full
        try:
            log.record(request_id=f"r{i}", user="u", question="x" * 2000)
        except StorageFull:
            refused = i
            break
    assert refused and log.held == 1
    with pytest.raises(StorageFull):  # feedback on the first request: refused, and held too
        log.feedback("r1", "u", 1, "clear answer")
    from medqa.server import _status

    assert _status(StorageFull("full")) == 507  # what the REST API answers
    log._db.execute("PRAGMA max_page_count = 1073741823")
    log.record(request_id="after", user="u", question="room again")
    assert log.held == 0
    rows = sorted(log.history("u"), key=lambda r: r["seq"])
    assert [(r["kind"], r["request_id"]) for r in rows[-3:]] == [
        ("request", f"r{refused}"), ("feedback", "r1"), ("request", "after")]
    assert log.verify().ok
