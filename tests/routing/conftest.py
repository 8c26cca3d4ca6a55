"""Scripted backends registered through the production engine registry, and a fake clock."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import pytest

from medqa.config import Settings
from medqa.errors import BackendUnavailable
from medqa.models.base import Backend
from medqa.models.registry import get_backend, register_engine
from medqa.types import Delta, GenParams, Message

ENGINE = "scripted-routing-test"


@dataclass
class Script:
    """What each scripted backbone answers, and which faults to inject (tests set these)."""

    letter: dict[str, str] = field(default_factory=dict)  # backbone -> favoured option
    strength: dict[str, float] = field(default_factory=dict)  # log-prob gap of that option
    text: dict[str, str] = field(default_factory=dict)  # backbone -> free-text answer
    down: set[str] = field(default_factory=set)  # refuse every call
    die_after: dict[str, int] = field(default_factory=dict)  # die after n streamed pieces
    slow_s: dict[str, float] = field(default_factory=dict)  # advance the fake clock per call
    calls: list[tuple[str, str]] = field(default_factory=list)  # (backbone, kind)
    clock: "FakeClock | None" = None


SCRIPT = Script()


class ScriptedBackend(Backend):
    """A real Backend whose answers and failures follow SCRIPT."""

    family = "scripted"

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name

    def _enter(self, kind: str) -> None:
        SCRIPT.calls.append((self.name, kind))
        if SCRIPT.clock and self.name in SCRIPT.slow_s:
            SCRIPT.clock.t += SCRIPT.slow_s[self.name]
        if self.name in SCRIPT.down:
            raise BackendUnavailable(f"{self.name} is down (injected fault).")

    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        self._enter("chat")
        words = SCRIPT.text.get(self.name, f"answer from {self.name}").split(" ")
        for i, w in enumerate(words):
            if self.name in SCRIPT.die_after and i >= SCRIPT.die_after[self.name]:
                raise RuntimeError("engine process exited (injected fault)")
            yield Delta(text=(" " if i else "") + w)
        yield Delta(finish_reason="stop")

    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        self._enter("score")
        fav = SCRIPT.letter.get(self.name, "A")
        gap = SCRIPT.strength.get(self.name, 3.0)
        return [-1.0 if o.strip() == fav else -1.0 - gap for o in options]


class FakeClock:
    """Injected time: `clock()` reads it, `sleep(s)` advances it and records the delay."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


register_engine(ENGINE, ScriptedBackend)


@pytest.fixture
def script() -> Iterator[Script]:
    global SCRIPT
    fresh = Script()
    SCRIPT.__dict__.update(fresh.__dict__)
    yield SCRIPT
    SCRIPT.__dict__.update(Script().__dict__)


@pytest.fixture
def clock(script) -> FakeClock:
    c = FakeClock()
    script.clock = c
    return c


@pytest.fixture
def backends(settings, script) -> dict[str, Backend]:
    names = ["big", "small", "zh"]
    return {n: get_backend(n, settings, engine=ENGINE) for n in names}
