"""The backbone seam: one served model on one engine, behind one interface."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterator

from medqa.types import Delta, GenParams, Message


class Backend(ABC):
    """A backbone served by some engine (llama.cpp, transformers, a vLLM server).

    `name` is the concrete model's manifest name (never a role); `family` comes from
    the manifest ("qwen", "deepseek", "ling", "smollm", "gemma", ...).
    """

    name: str
    family: str

    @abstractmethod
    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        """Stream the reply; reasoning (<think>) arrives in Delta.reasoning, apart from text."""

    @abstractmethod
    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        """Log-probability of each option as the continuation of `prompt` (one pass, no generation)."""

    # ---- conveniences ----
    def complete(self, messages: list[Message], params: GenParams | None = None) -> str:
        """The whole answer text of a chat, without reasoning."""
        return "".join(d.text for d in self.chat(messages, params or GenParams()))

    def close(self) -> None:
        """Release the engine's resources (models, processes, connections)."""
