"""Shared fixtures: every test gets its own MEDQA_HOME; the shared data folder is found."""
from __future__ import annotations

import os
from pathlib import Path

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
