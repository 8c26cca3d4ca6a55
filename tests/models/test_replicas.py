"""Replicas of one backbone: least-outstanding balancing, fail-over, deadlines, on real
llama.cpp engines running SmolLM2 (fault injection through real Backend subclasses)."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterator

import pytest

from medqa.config import Settings
from medqa.errors import BackendUnavailable
from medqa.models.base import Backend
from medqa.models.engines.llamacpp import LlamaCppBackend
from medqa.models.registry import register_engine
from medqa.models.replicas import ReplicaSet, build_backend
from medqa.types import Delta, GenParams, Message

SMOL = "smollm2-135m-instruct"
MSGS = [Message("user", "Name one symptom of influenza.")]


def smol_path() -> Path:
    from medqa.models.packaged import weights_path

    home = Path(os.environ.get("MEDQA_MODELS_HOME", Path.home() / ".medqa"))
    return weights_path(SMOL, Settings(home=home))


class Counted(LlamaCppBackend):
    """A real engine that counts the chats it served."""

    def __init__(self) -> None:
        super().__init__(smol_path(), name=SMOL, family="smollm", n_ctx=1024, n_threads=1)
        self.served = 0

    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        self.served += 1
        yield from super().chat(messages, params)


class DiesAfter(Counted):
    """Streams `n` pieces of a real answer, then fails like a killed server."""

    n = 3

    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        for i, d in enumerate(super().chat(messages, params)):
            if i == self.n:
                raise ConnectionResetError("server process was killed")
            yield d


class Down(Backend):
    """A replica whose server is not up: fails before sending anything."""

    name, family = SMOL, "smollm"

    def __init__(self) -> None:
        self.calls = 0

    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        self.calls += 1
        raise BackendUnavailable("connection refused", "start it: medqa models serve")
        yield Delta()  # pragma: no cover - makes this a generator

    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        self.calls += 1
        raise BackendUnavailable("connection refused", "start it: medqa models serve")


class Hangs(Backend):
    """Sends one piece, then never another (a stuck server)."""

    name, family = SMOL, "smollm"

    def __init__(self) -> None:
        self.release = threading.Event()

    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        yield Delta(text="Fever")
        self.release.wait()

    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        self.release.wait()
        return [0.0] * len(options)


@pytest.fixture(scope="module")
def pair():
    a, b = Counted(), Counted()
    yield a, b
    a.close()
    b.close()


def test_least_outstanding_requests_win(pair) -> None:
    a, b = pair
    rs = ReplicaSet([a, b])
    first = rs.chat(MSGS, GenParams(max_tokens=8))
    next(first)  # in flight on one replica
    assert rs.outstanding == [1, 0]
    second = rs.chat(MSGS, GenParams(max_tokens=8))
    head = next(second).text
    assert rs.outstanding == [1, 1] and (a.served, b.served) == (1, 1)
    text2 = head + "".join(d.text for d in second)
    assert rs.outstanding == [1, 0]
    assert rs.complete(MSGS, GenParams(max_tokens=8))  # b is idle, a still busy
    assert (a.served, b.served) == (1, 2)
    first.close()  # the caller went away: the replica is freed, not marked down
    assert rs.outstanding == [0, 0] and rs.healthy() == [True, True]
    assert text2


def test_fail_over_before_the_first_token_and_mark_down(pair) -> None:
    down = Down()
    rs = ReplicaSet([down, pair[0]])
    assert rs.complete(MSGS, GenParams(max_tokens=8))
    assert down.calls == 1 and rs.healthy() == [False, True]
    rs.complete(MSGS, GenParams(max_tokens=8))
    assert down.calls == 1  # skipped while marked down
    assert len(rs.score_options("Influenza is a", [" virus", " bone"])) == 2


def test_all_replicas_down_is_a_clear_error() -> None:
    rs = ReplicaSet([Down(), Down()])
    with pytest.raises(BackendUnavailable) as e:
        rs.complete(MSGS)
    assert "replica 0" in e.value.message and "replica 1" in e.value.message
    with pytest.raises(BackendUnavailable, match="connection refused"):
        ReplicaSet([Down()]).score_options("x", ["a"])


def test_death_mid_stream_keeps_the_partial_text() -> None:
    dying = DiesAfter()
    rs = ReplicaSet([dying])
    got: list[str] = []
    with pytest.raises(BackendUnavailable) as e:
        for d in rs.chat(MSGS, GenParams(max_tokens=30)):
            got.append(d.text)
    assert len(got) == DiesAfter.n and e.value.partial_text == "".join(got) != ""
    assert "killed" in e.value.message and rs.healthy() == [False]
    dying.close()


def test_a_hung_engine_cannot_hang_the_caller() -> None:
    hung = Hangs()
    rs = ReplicaSet([hung])
    with pytest.raises(BackendUnavailable) as e:
        list(rs.chat(MSGS, GenParams(timeout_s=0.5)))
    assert e.value.partial_text == "Fever" and rs.outstanding == [0]
    hung.release.set()


def test_settings_build_replicas_through_the_registry(tmp_path) -> None:
    register_engine("test-smol", lambda name, s: Counted())
    s = Settings(home=tmp_path, models={"engine": "test-smol", "replicas": 2})
    rs = build_backend(SMOL, s)
    assert isinstance(rs, ReplicaSet) and len(rs.replicas) == 2 and rs.name == SMOL
    assert rs.complete(MSGS, GenParams(max_tokens=4))
    rs.close()
