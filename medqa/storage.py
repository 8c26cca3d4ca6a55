"""A full disk: recognising it, saying so, and holding the records it refused until there is room.

SQLite reports a full disk (and a full database file) as `database or disk is full`; files
written directly fail with ENOSPC or EDQUOT. Either way the write was rolled back or not made,
so nothing already stored is damaged: what is lost is the record being written, unless it is
held. `Spool` holds those records in memory, in order, and writes them before the next one.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any, Callable

from medqa.errors import StorageFull

SPOOL_LIMIT = 10_000  # records held in memory at most (oldest kept: the newest are refused)


def is_disk_full(exc: BaseException) -> bool:
    """True for SQLite's SQLITE_FULL and the OS's out-of-space errors, wherever they were raised."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:  # engines (Chroma) wrap the original error
        seen.add(id(e))
        if isinstance(e, StorageFull):
            return True
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(e) or "database or disk is full" in str(e):  # SQLite, or wrapped
            return True
        e = e.__cause__ or e.__context__
    return False


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` beside `path`, fsync it, then rename it over `path`: a reader (or a full
    disk) never sees a half file; on failure the old file is untouched and no temporary stays."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def free_mb(path: Path) -> float:
    """Free space, in MB, on the filesystem holding `path` (its nearest existing parent)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free / 1e6


def full_error(what: str, where: Path, held: bool) -> StorageFull:
    """The user-facing error for a write the disk refused."""
    kept = (" It is held in memory and will be written as soon as there is room."
            if held else "")
    return StorageFull(
        f"The server's disk is full: {what} could not be saved.{kept}",
        f"Tell IT: free space on the disk holding {where} (`df -h {where}`); "
        "nothing saved before was lost.")


class Spool:
    """Writes made in order; one the disk refuses is held, with any after it, until one succeeds."""

    def __init__(self, what: str, where: Path, limit: int = SPOOL_LIMIT) -> None:
        self.what, self.where, self.limit = what, Path(where), limit
        self._held: deque[tuple[Callable[..., Any], tuple]] = deque()
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        """Records waiting for room on the disk."""
        return len(self._held)

    def write(self, fn: Callable[..., Any], *args: Any) -> None:
        """Write the held records, then this one; on a full disk hold it and raise StorageFull."""
        with self._lock:
            self._held.append((fn, args))
            try:
                while self._held:
                    f, a = self._held[0]
                    f(*a)
                    self._held.popleft()
            except Exception as e:
                if not is_disk_full(e):
                    self._held.pop()  # not ours to keep: the caller sees the real error
                    raise
                held = len(self._held) <= self.limit
                if not held:
                    self._held.pop()
                raise full_error(self.what, self.where, held) from e
