"""A deterministic test engine: a real Backend subclass registered through the production registry.

Its option log-probs and its chain-of-thought letter are functions of the prompt alone, so
any two runs over the same questions must produce the same rows.
"""
from __future__ import annotations

import hashlib
import os
import time
from typing import Iterator

from medqa.config import Settings
from medqa.models.base import Backend
from medqa.models.registry import register_engine
from medqa.types import Delta, GenParams, Message

ENGINE = "evalfake"


def _u(*parts: str) -> float:
    h = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


class FakeBackend(Backend):
    """Pseudo-random but reproducible answers; EVALFAKE_DELAY seconds per call (for kill tests)."""

    def __init__(self, name: str) -> None:
        self.name, self.family = name, "fake"
        self.calls = 0

    def _pause(self) -> None:
        self.calls += 1
        time.sleep(float(os.environ.get("EVALFAKE_DELAY", "0")))

    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        self._pause()
        return [-5.0 * _u(self.name, prompt, o) for o in options]

    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        self._pause()
        text = messages[-1].content
        letters = [ln[0] for ln in text.splitlines() if len(ln) > 2 and ln[1] == "." and ln[0].isupper()]
        pick = letters[int(_u(self.name, text) * len(letters))] if letters else "Z"
        for piece in ("Weighing the options. ", f"The answer is ({pick.lower()})."):
            yield Delta(text=piece)
        yield Delta(finish_reason="stop", prompt_tokens=len(text.split()), completion_tokens=8)


def build(name: str, settings: Settings) -> FakeBackend:
    return FakeBackend(name)


def install() -> None:
    """Register the engine (idempotent)."""
    register_engine(ENGINE, build)
