"""Shared fixtures: every test gets its own MEDQA_HOME; the shared data folder is found."""
from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("MEDQA_DATA_DIR", str(SHARED_DATA))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MEDQA_DEBUG", "1")  # the CLI re-raises under tests


@pytest.fixture
def medqa_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh MEDQA_HOME for one test."""
    home = tmp_path / "medqa_home"
    home.mkdir()
    monkeypatch.setenv("MEDQA_HOME", str(home))
    # keep the packaged models `make models` assembled under the user's home
    monkeypatch.setenv("MEDQA_MODELS_PATH", str(packaged_model_home() / "models"))
    return home


@pytest.fixture
def settings(medqa_home: Path):
    """Settings rooted at the test's own MEDQA_HOME."""
    from medqa.config import load_settings

    return load_settings(home=medqa_home)


def packaged_model_home() -> Path:
    """Where `make models` assembled the packaged GGUFs (the user's MEDQA_HOME)."""
    return Path(os.environ.get("MEDQA_MODELS_HOME", Path.home() / ".medqa")).expanduser()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 24 MB filesystem (tmpfs) to fill up; needs root to mount, skips elsewhere."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def fill():
    """fill(disk, leave=0): write a filler file until the filesystem refuses, then give back
    `leave` bytes; returns the filler (unlink it to free the space)."""
    return _fill


def _fill(disk: Path, leave: int = 0) -> Path:
    filler = disk / "filler.bin"
    with open(filler, "wb", buffering=0) as f:
        for block in (1 << 20, 1 << 12):
            try:
                while True:
                    f.write(b"\0" * block)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    if leave:
        with open(filler, "r+b") as f:
            f.truncate(max(0, filler.stat().st_size - leave))
    return filler
