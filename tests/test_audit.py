"""Audit log: hash chain, tamper detection, feedback rows, history isolation, export, prune, no PHI."""
from __future__ import annotations

import csv
import hashlib
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from medqa.audit import AuditLog
from medqa.errors import AuthError, QueryError
from medqa.safety.triage import rules_only
from medqa.types import Passage, Route


def _record(log: AuditLog, user: str = "dr_li", question: str = "Side effects of metformin?", **kw) -> str:
    route = Route(backbones=("qwen-1.5b",), retrieve=True, explanation=f"because {question}")
    p = Passage("medquad:1#0", "text", "medquad:1", "Metformin", "medquad")
    return log.record(user=user, question=question, triage=rules_only(question), route=route,
                      citations=[p], latency=0.42, answer="Nausea and diarrhoea are common.", **kw)


def test_record_verify_and_fields(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "audit.sqlite3") as log:
        rid = _record(log, question="Patient: Ryan Gallagher, MRN 1234567, side effects of metformin?")
        assert log.verify().ok and log.verify().rows == 1
        (row,) = log.history("dr_li")
    assert row["request_id"] == rid and row["user"] == "dr_li" and row["tenant"] == "default"
    assert row["question"] == "Patient: <NAME>, MRN <MRN>, side effects of metformin?"
    assert row["answer_hash"] == hashlib.sha256(b"Nausea and diarrhoea are common.").hexdigest()
    assert row["citations"] == [{"id": "medquad:1#0", "title": "Metformin"}]
    assert row["backbones"] == ["qwen-1.5b"] and row["latency_ms"] == 420.0
    assert "explanation" not in row["route"]  # the router's text may quote the question
    raw = (tmp_path / "audit.sqlite3").read_bytes()
    assert b"Gallagher" not in raw and b"Nausea" not in raw
    mode = sqlite3.connect(tmp_path / "audit.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_unknown_fields_are_rejected(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "a.sqlite3") as log, pytest.raises(TypeError):
        log.record(user="u", question="q", raw_answer="x")


def test_append_only_guards(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "a.sqlite3") as log:
        _record(log)
        with pytest.raises(sqlite3.DatabaseError):
            log._db.execute("UPDATE audit SET user = 'x'")
        with pytest.raises(sqlite3.DatabaseError):
            log._db.execute("DELETE FROM audit")


def test_edited_row_is_detected_by_cli(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    with AuditLog(db) as log:
        for i in range(5):
            _record(log, question=f"question {i}")
    cli = [sys.executable, "-m", "medqa.cli", "audit", "verify", "--db", str(db)]
    ok = subprocess.run(cli, capture_output=True, text=True)
    assert ok.returncode == 0 and "5 rows" in ok.stdout
    # A tamperer with file access drops the guard and rewrites row 3's question.
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("UPDATE audit SET payload = replace(payload, 'question 2', 'question X') WHERE seq = 3")
    con.commit()
    con.close()
    bad = subprocess.run(cli, capture_output=True, text=True)
    assert bad.returncode == 1 and "first bad row 3" in bad.stderr, bad.stderr
    with AuditLog(db) as log:
        res = log.verify()
    assert (res.ok, res.first_bad_row) == (False, 3) and "edited" in res.reason


def test_deleted_row_is_detected(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    with AuditLog(db) as log:
        for i in range(4):
            _record(log, question=f"q{i}")
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER audit_no_delete")
    con.execute("DELETE FROM audit WHERE seq = 2")
    con.commit()
    con.close()
    with AuditLog(db) as log:
        res = log.verify()
    assert not res.ok and res.first_bad_row == 3


def test_feedback_is_an_appended_row_for_the_asker_only(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "a.sqlite3") as log:
        rid = _record(log, user="dr_li")
        _record(log, user="dr_wang")
        log.feedback(rid, "dr_li", -1, "wrong dose; call 13812345678")
        with pytest.raises(AuthError):
            log.feedback(rid, "dr_wang", 1, "")
        with pytest.raises(QueryError):
            log.feedback("nope", "dr_li", 1, "")
        with pytest.raises(QueryError):
            log.feedback(rid, "dr_li", 5, "")
        mine = log.history("dr_li")
        assert [r["kind"] for r in mine] == ["request", "feedback"]
        assert mine[1]["request_id"] == rid and mine[1]["thumbs"] == -1
        assert mine[1]["comment"] == "wrong dose; call <PHONE>"
        assert all(r["user"] == "dr_wang" for r in log.history("dr_wang"))
        assert log.history("dr_li", tenant="other") == []
        assert log.verify().ok


def test_export_csv(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "a.sqlite3") as log:
        rid = _record(log)
        log.feedback(rid, "dr_li", 1, "good")
        assert log.export_csv(tmp_path / "out.csv") == 2
    rows = list(csv.DictReader(open(tmp_path / "out.csv", encoding="utf-8")))
    assert [r["kind"] for r in rows] == ["request", "feedback"] and rows[1]["thumbs"] == "1"
    assert rows[0]["hash"] == rows[1]["prev_hash"]


def test_prune_keeps_the_chain_verifiable(tmp_path: Path) -> None:
    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    with AuditLog(tmp_path / "a.sqlite3", clock=lambda: now[0]) as log:
        for i in range(3):
            _record(log, question=f"old {i}")
        now[0] += timedelta(days=400)
        _record(log, question="recent")
        assert log.prune(365) == 3
        assert log.verify().ok
        _record(log, question="after prune")
        assert log.verify().ok
        kinds = [r["kind"] for r in log.history("dr_li")]
        assert kinds == ["request", "request"]


def test_cli_export(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    with AuditLog(db) as log:
        _record(log)
    out = tmp_path / "x.csv"
    r = subprocess.run([sys.executable, "-m", "medqa.cli", "audit", "export", "--csv", str(out), "--db", str(db)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and out.read_text(encoding="utf-8").count("\n") == 2


def test_no_identifier_from_the_synthetic_notes_reaches_the_database(tmp_path: Path) -> None:
    from medqa.safety.phi_synth import generate

    notes = generate(500, seed=13)
    db = tmp_path / "audit.sqlite3"
    log = AuditLog(db)
    for i, note in enumerate(notes):
        log.record(user=f"u{i % 7}", question=note.text, lang=note.lang, triage=rules_only(note.text, note.lang),
                   answer="ok", error=note.text if i % 50 == 0 else None)
    assert log.verify().ok
    blobs = [p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("audit.sqlite3")]
    assert any(p.name.endswith("-wal") for p in tmp_path.iterdir())
    log.close()
    blobs += [db.read_bytes()]
    leaked = {v for note in notes for v in note.values() if any(v.encode() in b for b in blobs)}
    assert not leaked, sorted(leaked)[:10]
