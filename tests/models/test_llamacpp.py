"""llama.cpp engine on the real packaged SmolLM2-135M: exact greedy output, option scores,
prompt-cache reuse, thread safety and deadlines."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from medqa.config import Settings
from medqa.errors import BackendUnavailable
from medqa.models.engines.chat_format import StopMatcher, ThinkSplitter, render_chat
from medqa.types import GenParams, Message

SMOL = "smollm2-135m-instruct"
SYSTEM = Message("system", "You are a concise medical assistant. Answer in one sentence.")


def packaged_gguf(name: str) -> Path:
    """The assembled, sha256-checked GGUF that `medqa models pull --packaged` wrote."""
    from medqa.models.packaged import weights_path

    home = Path(os.environ.get("MEDQA_MODELS_HOME", Path.home() / ".medqa"))
    return weights_path(name, Settings(home=home))


@pytest.fixture(scope="module")
def smol():
    from medqa.models.engines.llamacpp import LlamaCppBackend

    b = LlamaCppBackend(packaged_gguf(SMOL), name=SMOL, family="smollm", n_ctx=2048, n_threads=1)
    yield b
    b.close()


def test_greedy_answer_is_exact(smol) -> None:
    msgs = [SYSTEM, Message("user", "What organ pumps blood through the body?")]
    deltas = list(smol.chat(msgs, GenParams(max_tokens=40)))
    text = "".join(d.text for d in deltas)
    # Recorded once from this model file (sha256 in the manifest); greedy is deterministic.
    assert text == EXPECTED
    last = deltas[-1]
    assert last.finish_reason == "stop" and last.completion_tokens and last.prompt_tokens


EXPECTED = "The heart is the primary organ pump that pumps blood through the body."


def test_system_prefix_is_reused_from_the_kv_cache(smol) -> None:
    first = [SYSTEM, Message("user", "What is anaemia?")]
    second = [SYSTEM, Message("user", "What causes gout?")]
    list(smol.chat(first, GenParams(max_tokens=4)))
    list(smol.chat(second, GenParams(max_tokens=4)))
    system_tokens = len(smol.tokenize(smol.render([SYSTEM])))
    # Everything up to the user's words is served from the cache, not prefilled again.
    assert smol.last_cached_tokens >= system_tokens - 4
    assert smol.last_cached_tokens < len(smol.tokenize(smol.render(second)))


def test_letter_scores_are_log_probs_from_one_pass(smol) -> None:
    prompt = smol.render([Message("user", "Which is a fruit?\nA. stone\nB. apple\nC. car\n"
                                          "Answer with the letter.")]) + "The answer is"
    s = smol.score_options(prompt, [" A", " B", " C"])
    assert all(x < 0 for x in s) and sum(2.718281828 ** x for x in s) <= 1.0 + 1e-6
    assert s == smol.score_options(prompt, [" A", " B", " C"])  # cache reuse changes nothing


def test_multi_token_option_is_the_sum_of_its_steps(smol) -> None:
    prompt = "The capital of France is"
    whole = smol.score_options(prompt, [" Paris, France"])[0]
    tokens = smol.tokenize(prompt + " Paris, France")[len(smol.tokenize(prompt)):]
    assert len(tokens) > 1
    # Oracle: score the same continuation one token at a time and add up.
    steps, ctx = 0.0, prompt
    for t in tokens:
        piece = smol._llm.detokenize([t]).decode()
        steps += smol.score_options(ctx, [piece])[0]
        ctx += piece
    assert whole == pytest.approx(steps, abs=1e-3)
    assert smol.score_options(prompt, [" Paris", " London"])[0] > \
        smol.score_options(prompt, [" Paris", " London"])[1]


def test_concurrent_chats_are_serialised_and_identical(smol) -> None:
    msgs = [SYSTEM, Message("user", "What organ pumps blood through the body?")]
    out: list[str] = []

    def run() -> None:
        out.append(smol.complete(msgs, GenParams(max_tokens=40)))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [EXPECTED] * 3


def test_deadline_ends_the_stream_with_the_partial_text(smol) -> None:
    msgs = [SYSTEM, Message("user", "What organ pumps blood through the body?")]
    got: list[str] = []
    with pytest.raises(BackendUnavailable) as e:
        for d in smol.chat(msgs, GenParams(max_tokens=40, timeout_s=0.0)):
            got.append(d.text)
    assert e.value.partial_text == "".join(got) and EXPECTED.startswith("".join(got))
    assert "request_timeout_s" in e.value.hint


def test_think_tags_are_split_wherever_the_chunks_break() -> None:
    stream = "<think>check dose</think>Give 5 mg."
    for cut in range(1, len(stream)):
        s = ThinkSplitter()
        pieces = s.feed(stream[:cut]) + s.feed(stream[cut:]) + s.flush()
        assert "".join(p for k, p in pieces if k == "reasoning") == "check dose"
        assert "".join(p for k, p in pieces if k == "text") == "Give 5 mg."


def test_stop_strings_cut_even_across_chunks() -> None:
    for cut in range(1, 12):
        m = StopMatcher(["<|end|>"])
        text = "ok then<|end|>more"
        out = m.feed(text[:cut]) + m.feed(text[cut:])
        assert out == "ok then" and m.stopped


def test_template_from_the_model_file_is_rendered(smol) -> None:
    prompt = smol.render([Message("user", "hi")])
    assert prompt == render_chat(smol._template, [Message("user", "hi")])
    assert prompt.endswith("<|im_start|>assistant\n")
