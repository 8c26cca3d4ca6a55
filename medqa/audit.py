"""Audit log: SQLite (WAL), append-only, hash-chained; questions are redacted before they are stored."""
from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import threading
import uuid
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from medqa.errors import AuthError, QueryError
from medqa.storage import Spool

GENESIS = "0" * 64
REQUEST_FIELDS = frozenset({
    "request_id", "user", "tenant", "question", "lang", "mode", "triage", "route", "backbones",
    "citations", "latency", "latency_ms", "answer", "answer_hash", "error", "emergency",
})
CSV_COLUMNS = (
    "seq", "kind", "request_id", "time", "user", "tenant", "question", "redacted", "emergency",
    "category", "route", "backbones", "citations", "latency_ms", "answer_hash", "thumbs", "comment",
    "prev_hash", "hash",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,            -- request | feedback | prune
    request_id TEXT NOT NULL,
    user TEXT NOT NULL,
    tenant TEXT NOT NULL,
    ts TEXT NOT NULL,
    payload TEXT NOT NULL,         -- canonical JSON, already redacted
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_user ON audit(user, tenant);
CREATE INDEX IF NOT EXISTS audit_request ON audit(request_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('anchor', '0:' || '0000000000000000000000000000000000000000000000000000000000000000');
INSERT OR IGNORE INTO meta VALUES ('pruning', '0');
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
WHEN (SELECT value FROM meta WHERE key = 'pruning') != '1'
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only; use `medqa audit prune`'); END;
"""


@dataclass(frozen=True)
class VerifyResult:
    """Whether the chain is intact; first_bad_row is the seq of the first row that fails."""

    ok: bool
    first_bad_row: int | None = None
    reason: str = ""
    rows: int = 0


def canonical(obj: Any) -> str:
    """One byte-exact JSON spelling per value: what the hash covers."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def row_hash(prev_hash: str, seq: int, kind: str, request_id: str, user: str, tenant: str, ts: str,
             payload: str) -> str:
    """sha256 over the previous row's hash and this row's canonical content."""
    body = canonical([seq, kind, request_id, user, tenant, ts, payload])
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AuditLog:
    """One hospital's accountable record of every request and every piece of feedback."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed record survives power loss, not only a killed process.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._spool = Spool("this request's audit record", self.path.parent)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writing ----
    def _append(self, kind: str, request_id: str, user: str, tenant: str, payload: dict) -> None:
        # The time is taken now: a record the full disk made wait keeps the time it happened.
        ts = self._clock().astimezone(timezone.utc).isoformat(timespec="microseconds")
        self._spool.write(self._insert, kind, request_id, user, tenant, ts, canonical(payload))

    @property
    def held(self) -> int:
        """Records a full disk refused, held in memory until the next write succeeds."""
        return self._spool.held

    def _insert(self, kind: str, request_id: str, user: str, tenant: str, ts: str, body: str) -> None:
        with self._lock:
            # IMMEDIATE takes the write lock before reading the head, so two processes
            # appending at once cannot both chain onto the same previous row.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                last = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                if last is None:
                    anchor_seq, anchor_hash = self._anchor()
                    last = (anchor_seq, anchor_hash)
                seq = last[0] + 1
                h = row_hash(last[1], seq, kind, request_id, user, tenant, ts, body)
                self._db.execute(
                    "INSERT INTO audit (seq, kind, request_id, user, tenant, ts, payload, prev_hash, hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, kind, request_id, user, tenant, ts, body, last[1], h),
                )
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite may have rolled back already (a full disk)
                    self._db.execute("ROLLBACK")
                raise

    def record(self, **fields: Any) -> str:
        """Append one request; the question is redacted here and the answer stored only as its hash."""
        from medqa.safety.phi import redact

        unknown = set(fields) - REQUEST_FIELDS
        if unknown:
            raise TypeError(f"AuditLog.record got unknown fields {sorted(unknown)}; known: {sorted(REQUEST_FIELDS)}")
        request_id = str(fields.get("request_id") or uuid.uuid4().hex)
        lang = fields.get("lang")
        red = redact(str(fields.get("question") or ""), lang)
        triage = _plain(fields.get("triage")) or {}
        route = _plain(fields.get("route"))
        answer = fields.get("answer")
        latency_ms = fields.get("latency_ms")
        if latency_ms is None and fields.get("latency") is not None:
            latency_ms = round(float(fields["latency"]) * 1000, 1)
        payload = {
            "question": red.text,
            "redacted": sorted({t for t, _, _ in red.entities}),
            "lang": lang,
            "mode": fields.get("mode"),
            "emergency": bool(fields.get("emergency", triage.get("emergency", False))),
            "category": triage.get("category"),
            # The matched phrase comes from the question, so it is redacted too.
            "matched": redact(triage["matched"], lang).text if triage.get("matched") else None,
            "route": _route_summary(route),
            "backbones": list(fields.get("backbones") or (route or {}).get("backbones") or ()),
            "citations": [_citation(c, lang) for c in fields.get("citations") or ()],
            "latency_ms": latency_ms,
            "answer_hash": fields.get("answer_hash")
            or (hashlib.sha256(answer.encode()).hexdigest() if isinstance(answer, str) else None),
            "error": redact(str(fields["error"]), lang).text if fields.get("error") else None,
        }
        self._append("request", request_id, str(fields.get("user") or "anonymous"),
                     str(fields.get("tenant") or "default"), payload)
        return request_id

    def feedback(self, request_id: str, user: str, thumbs: int, comment: str = "") -> None:
        """Append feedback on one of the user's own requests (a new row, never an edit)."""
        if thumbs not in (-1, 0, 1):
            raise QueryError(f"thumbs must be -1, 0 or 1, not {thumbs!r}.", "Send 1 (helpful) or -1 (not).")
        row = self._db.execute(
            "SELECT user, tenant FROM audit WHERE request_id = ? AND kind = 'request'", (request_id,)
        ).fetchone()
        if row is None:
            raise QueryError(f"No request {request_id!r} in the audit log.", "Use the request id an answer returned.")
        if row[0] != user:
            raise AuthError("Feedback can only be given on your own requests.", "Sign in as the user who asked.")
        from medqa.safety.phi import redact

        self._append("feedback", request_id, user, row[1], {"thumbs": thumbs, "comment": redact(comment or "").text})

    def prune(self, retention_days: int) -> int:
        """Drop records older than retention_days from the start of the chain; returns how many."""
        cutoff = (self._clock() - timedelta(days=retention_days)).astimezone(timezone.utc).isoformat()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                # Only a prefix: the first row kept must chain onto the anchor verify starts from.
                first_kept = self._db.execute(
                    "SELECT MIN(seq) FROM audit WHERE ts >= ?", (cutoff,)
                ).fetchone()[0]
                where = "seq < ?" if first_kept is not None else "1"
                args = (first_kept,) if first_kept is not None else ()
                last = self._db.execute(
                    f"SELECT seq, hash FROM audit WHERE {where} ORDER BY seq DESC LIMIT 1", args
                ).fetchone()
                if last is None:
                    self._db.execute("ROLLBACK")
                    return 0
                n = self._db.execute(f"SELECT COUNT(*) FROM audit WHERE {where}", args).fetchone()[0]
                self._db.execute("UPDATE meta SET value = '1' WHERE key = 'pruning'")
                self._db.execute(f"DELETE FROM audit WHERE {where}", args)
                self._db.execute("UPDATE meta SET value = '0' WHERE key = 'pruning'")
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'anchor'", (f"{last[0]}:{last[1]}",))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._append("prune", "", "system", "default", {"removed": n, "before": cutoff})
        return n

    # ---- reading ----
    def _anchor(self) -> tuple[int, str]:
        seq, h = self._db.execute("SELECT value FROM meta WHERE key = 'anchor'").fetchone()[0].split(":")
        return int(seq), h

    def _rows(self, where: str = "1", args: tuple = ()) -> Iterator[sqlite3.Row]:
        cur = self._db.cursor()
        cur.row_factory = sqlite3.Row
        yield from cur.execute(f"SELECT * FROM audit WHERE {where} ORDER BY seq", args)

    def verify(self) -> VerifyResult:
        """Recompute the chain; an edited, inserted or removed row breaks it at that row."""
        check = self._db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            return VerifyResult(False, None, f"database integrity check failed: {check}")
        prev_seq, prev = self._anchor()
        n = 0
        for r in self._rows():
            n += 1
            if r["seq"] != prev_seq + 1:
                return VerifyResult(False, r["seq"], f"row {r['seq']}: rows missing before it (expected {prev_seq + 1})", n)
            if r["prev_hash"] != prev:
                return VerifyResult(False, r["seq"], f"row {r['seq']}: prev_hash does not match the row before", n)
            expect = row_hash(prev, r["seq"], r["kind"], r["request_id"], r["user"], r["tenant"], r["ts"], r["payload"])
            if r["hash"] != expect:
                return VerifyResult(False, r["seq"], f"row {r['seq']}: content does not match its hash (edited)", n)
            prev_seq, prev = r["seq"], r["hash"]
        return VerifyResult(True, None, f"{n} rows, chain intact, head {prev[:16]}", n)

    def history(self, user: str, tenant: str | None = None) -> list[dict]:
        """That user's own requests and feedback (redacted as stored), oldest first."""
        where, args = "user = ? AND kind != 'prune'", (user,)
        if tenant is not None:
            where, args = where + " AND tenant = ?", (user, tenant)
        return [self._as_dict(r) for r in self._rows(where, args)]

    @staticmethod
    def _as_dict(r: sqlite3.Row) -> dict:
        return {"seq": r["seq"], "kind": r["kind"], "request_id": r["request_id"], "time": r["ts"],
                "user": r["user"], "tenant": r["tenant"], **json.loads(r["payload"])}

    def export_csv(self, path: Path) -> int:
        """Write every row to a CSV file (already redacted); returns the row count."""
        n = 0
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            w.writeheader()
            for r in self._rows():
                d = self._as_dict(r) | {"prev_hash": r["prev_hash"], "hash": r["hash"]}
                for key in ("redacted", "backbones", "citations", "route"):
                    if key in d:
                        d[key] = canonical(d[key])
                w.writerow(d)
                n += 1
        return n


def _route_summary(route: Any) -> dict | None:
    # The router's free-text explanation may quote the question: keep only the decision.
    if not isinstance(route, dict):
        return {"name": str(route)} if route else None
    return {k: route.get(k) for k in ("backbones", "retrieve", "strategy", "reasoning") if k in route}


def _citation(c: Any, lang: str | None) -> dict:
    from medqa.safety.phi import redact

    c = _plain(c)
    how = c.get("how") if isinstance(c, dict) else None
    if isinstance(c, dict) and "passage" in c:
        c = c["passage"]
    if not isinstance(c, dict):
        return {"id": str(c)}
    row = {"id": c.get("id") or c.get("doc_id"), "title": redact(str(c.get("title") or ""), lang).text}
    return row | ({"how": how} if how else {})
