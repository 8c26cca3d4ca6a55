"""The audit log survives a writer killed mid-stream: the database opens, verifies and takes more rows."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from medqa.audit import AuditLog

WRITER = """
import sys
from medqa.audit import AuditLog
log = AuditLog(sys.argv[1])
i = 0
while True:
    log.record(user="crash", question=f"question {i} from MRN 12345{i:03d}", answer=str(i), latency=0.01)
    i += 1
"""


def _count(db: Path) -> int:
    try:
        con = sqlite3.connect(db, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_sigkill_during_writes_leaves_a_verifiable_log(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)])
    try:
        deadline = time.monotonic() + 120
        while _count(db) < 50 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert proc.poll() is None, "the writer died on its own"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    with AuditLog(db) as log:
        before = log.verify()
        assert before.ok, before
        assert before.rows >= 50
        log.record(user="after", question="still works?", answer="yes")
        after = log.verify()
    assert after.ok and after.rows == before.rows + 1
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
