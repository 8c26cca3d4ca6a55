"""Fixtures of the evals tests: the test engine, registered through the production registry."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def fake_engine():
    import fake_engine as fe

    fe.install()
    return fe.ENGINE
