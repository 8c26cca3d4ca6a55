"""transformers (the correctness reference) against llama.cpp on the same SmolLM2 file:
option-score argmax agreement on 50 real MIRAGE questions, and a streamed greedy chat."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from medqa.config import Settings
from medqa.models.engines.llamacpp import LlamaCppBackend
from medqa.models.engines.transformers import _STAMP, TransformersBackend
from medqa.types import GenParams, Message

SMOL = "smollm2-135m-instruct"
LETTERS = ["A", "B", "C", "D"]


def models_settings() -> Settings:
    home = Path(os.environ.get("MEDQA_MODELS_HOME", Path.home() / ".medqa"))
    return Settings(home=home)


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    from medqa.models.packaged import weights_path

    s = models_settings()
    path = weights_path(SMOL, s)
    # Reuse an fp32 copy someone already made (read only); else build one in tmp.
    cache = s.models_dir / f"{SMOL}-hf-fp32"
    if not (cache / _STAMP).is_file():
        cache = tmp_path_factory.mktemp("hf") / SMOL
    ref = TransformersBackend(path, name=SMOL, family="smollm", n_threads=1, cache_dir=cache)
    fast = LlamaCppBackend(path, name=SMOL, family="smollm", n_ctx=2048, n_threads=1)
    yield ref, fast
    fast.close()
    ref.close()


def mirage_questions(n: int = 50) -> list[dict]:
    """n four-option questions spread over the MIRAGE subset's tasks."""
    path = Settings().data_dir / "eval" / "mirage_subset_1000.jsonl"
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    rows = [r for r in rows if sorted(r["options"]) == LETTERS][::10][:n]
    assert len(rows) == n
    return rows


def test_streamed_greedy_chat(engines) -> None:
    ref, _ = engines
    msgs = [Message("system", "You are a concise medical assistant. Answer in one sentence."),
            Message("user", "What organ pumps blood through the body?")]
    deltas = list(ref.chat(msgs, GenParams(max_tokens=40)))
    text = "".join(d.text for d in deltas)
    assert text == EXPECTED, text
    assert len(deltas) > 3 and deltas[-1].finish_reason == "stop"


# Recorded once from the dequantised file; greedy, so it must not change. llama.cpp gives
# the same sentence from the quantised file (tests/models/test_llamacpp.py).
EXPECTED = "The heart is the primary organ pump that pumps blood through the body."


def test_option_argmax_agrees_with_llamacpp_on_50_questions(engines) -> None:
    """Options scored as their full text (several tokens each): both engines' multi-token
    paths, and margins wide enough that rounding (Q8 activations in llama.cpp, fp32 here)
    rarely decides. Letters alone sit within 0.1 nats of each other on a 135M model."""
    ref, fast = engines
    agree = 0
    for r in mirage_questions():
        msgs = [Message("user", r["question"])]
        assert ref.render(msgs) == fast.render(msgs)  # the same template, the same text
        prompt = ref.render(msgs) + "The answer is"
        options = [" " + r["options"][x] for x in LETTERS]
        a, b = ref.score_options(prompt, options), fast.score_options(prompt, options)
        agree += max(range(4), key=a.__getitem__) == max(range(4), key=b.__getitem__)
    assert agree >= 45, f"transformers and llama.cpp agree on {agree}/50"


def test_letter_scores_match_llamacpp_closely(engines) -> None:
    ref, fast = engines
    r = mirage_questions(1)[0]
    q = "\n".join([r["question"], *(f"{k}. {v}" for k, v in r["options"].items())])
    prompt = ref.render([Message("user", q)]) + "The answer is"
    a = ref.score_options(prompt, [" " + x for x in LETTERS])
    b = fast.score_options(prompt, [" " + x for x in LETTERS])
    assert a == pytest.approx(b, abs=0.3)
