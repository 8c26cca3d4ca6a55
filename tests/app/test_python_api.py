"""The Python API example in the README runs as written (on the test index and SmolLM2)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow
DOC = Path(__file__).resolve().parents[2] / "README.md"


def test_python_api_example_runs(live: Any) -> None:
    section = DOC.read_text(encoding="utf-8").split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "load_assistant()" in code and "ask_batch" in code and ".stream(" in code
    s = live.settings
    env = {**os.environ, "MEDQA_HOME": str(s.home), "MEDQA_DATA_DIR": str(s.data_dir),
           "MEDQA_MODELS__ROLES": json.dumps(dict(s.models.roles)),
           "MEDQA_MODELS__N_CTX": str(s.models.n_ctx), "MEDQA_RETRIEVAL__K": "3"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=600, cwd=s.home)
    assert out.returncode == 0, out.stderr[-2000:]
    names = out.stdout.split()
    assert names.count("Triaged") == 1 and "Token" in names and names.count("Answer") == 1
