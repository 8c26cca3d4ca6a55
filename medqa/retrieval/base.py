"""The retrieval seam: anything that turns a query into ranked passages."""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from medqa.types import Passage


@runtime_checkable
class Retriever(Protocol):
    """Ranked passages for a query; higher score = better."""

    def search(self, query: str, k: int = 8) -> list[Passage]: ...
