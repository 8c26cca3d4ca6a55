"""Registry of corpora and evaluation sets: the manifest in data/manifest.toml, resolved
against MEDQA_DATA_DIR, with sha256 verification and clear instructions when missing."""
from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from medqa.config import PROJECT_ROOT, Settings, load_settings
from medqa.errors import DataChecksumError, DataMissing, UnknownName

MANIFEST = PROJECT_ROOT / "data" / "manifest.toml"


@dataclass(frozen=True)
class DataEntry:
    """One corpus or evaluation set named in the manifest."""

    name: str
    kind: str  # corpus | eval
    path: str
    sha256: str
    upstream: str
    license: str
    attribution: str
    description: str


@lru_cache(maxsize=1)
def entries() -> dict[str, DataEntry]:
    """Every manifest entry by name."""
    raw = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    return {name: DataEntry(name=name, **fields) for name, fields in raw.items()}


def entry(name: str) -> DataEntry:
    try:
        return entries()[name]
    except KeyError:
        raise UnknownName("dataset", name, list(entries())) from None


def sha256_file(path: Path, on_read: Callable[[int, int], None] | None = None,
                chunk: int = 8 << 20) -> str:
    """Hex sha256 of a file; `on_read(bytes_done, bytes_total)` reports progress."""
    h, done, total = hashlib.sha256(), 0, path.stat().st_size
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
            done += len(block)
            if on_read:
                on_read(done, total)
    return h.hexdigest()


@lru_cache(maxsize=64)
def _verified(path: Path, size: int, mtime_ns: int, expected: str) -> bool:
    # Keyed by size and mtime so a file is hashed once per process unless it changes.
    return sha256_file(path) == expected


def resolve(name: str, settings: Settings | None = None, verify: bool = True) -> Path:
    """Local path of a named data file; raises with instructions if missing or corrupt."""
    e = entry(name)
    settings = settings or load_settings()
    path = (settings.data_dir / e.path).resolve()
    if not path.is_file():
        raise DataMissing(
            f"{e.description.split(':')[0]} ({name}) is not at {path}.",
            f"Download it from {e.upstream} ({e.license}) to that path, or set "
            f"MEDQA_DATA_DIR to the folder that holds {e.path}.",
        )
    if verify:
        st = path.stat()
        if not _verified(path, st.st_size, st.st_mtime_ns, e.sha256):
            raise DataChecksumError(
                f"{path} does not match the sha256 in data/manifest.toml.",
                f"Fetch a fresh copy from {e.upstream}; a partial or edited file gives wrong results.",
            )
    return path
