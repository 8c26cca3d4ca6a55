"""Each user's conversation history in SQLite; every read is filtered by the asking user."""
from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from medqa.storage import Spool


@dataclass(frozen=True)
class Turn:
    """One question and its answer in a conversation."""

    conversation: str
    question: str
    answer: str
    request_id: str
    workflow: str | None
    created: float


class SQLiteFile:
    """A small SQLite file with its schema; one connection per call, writes serialised."""

    SCHEMA = ""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._db() as db:
            db.executescript(self.SCHEMA)

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)


class History(SQLiteFile):
    """Per-user conversation history; a user can only ever read their own turns."""

    SCHEMA = """
        CREATE TABLE IF NOT EXISTS turns (
            id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL,
            user TEXT NOT NULL, conversation TEXT NOT NULL, question TEXT NOT NULL,
            answer TEXT NOT NULL, request_id TEXT NOT NULL, workflow TEXT,
            created REAL NOT NULL);
        CREATE INDEX IF NOT EXISTS turns_user ON turns (tenant, user, conversation);
        """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._spool = Spool("this turn of your history", self.path.parent)

    @staticmethod
    def new_conversation() -> str:
        """A fresh conversation id."""
        return uuid.uuid4().hex[:16]

    def add(self, user: str, conversation: str, question: str, answer: str, request_id: str = "",
            workflow: str | None = None, tenant: str = "default") -> None:
        """Record one turn for `user` (a full disk holds it: StorageFull)."""
        self._spool.write(self._insert, (tenant, user, conversation, question, answer, request_id,
                                         workflow, time.time()))

    @property
    def held(self) -> int:
        """Turns a full disk refused, held in memory until the next write succeeds."""
        return self._spool.held

    def _insert(self, row: tuple) -> None:
        with self._lock, self._db() as db:
            db.execute(
                "INSERT INTO turns (tenant, user, conversation, question, answer, request_id,"
                " workflow, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

    def turns(self, user: str, conversation: str | None = None, limit: int = 200,
              tenant: str = "default") -> list[Turn]:
        """The user's own turns, newest first; another user's conversation id yields nothing."""
        sql = ("SELECT conversation, question, answer, request_id, workflow, created FROM turns"
               " WHERE tenant=? AND user=?")
        args: list[object] = [tenant, user]
        if conversation is not None:
            sql += " AND conversation=?"
            args.append(conversation)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        with self._db() as db:
            return [Turn(*row) for row in db.execute(sql, args).fetchall()]

    def conversations(self, user: str, tenant: str = "default") -> list[dict[str, object]]:
        """The user's conversations, newest first: id, first question, turn count, last time."""
        with self._db() as db:
            rows = db.execute(
                "SELECT conversation, MIN(id), COUNT(*), MAX(created) FROM turns"
                " WHERE tenant=? AND user=? GROUP BY conversation ORDER BY MAX(id) DESC",
                (tenant, user),
            ).fetchall()
            out = []
            for conv, first_id, count, last in rows:
                (title,) = db.execute("SELECT question FROM turns WHERE id=?", (first_id,)).fetchone()
                out.append({"id": conv, "title": title[:80], "turns": count, "updated": last})
        return out
