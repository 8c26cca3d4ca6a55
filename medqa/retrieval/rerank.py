"""The reranker seam. None ships offline (no cross-encoder installs from the registries), so
the default is "none", which means no reranking step at all, not a stub that pretends."""
from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

from medqa.errors import UnknownName
from medqa.types import Passage


@runtime_checkable
class Reranker(Protocol):
    """Reorders (and may rescore) the hybrid candidates for a query; higher score = better."""

    def rerank(self, query: str, passages: list[Passage]) -> list[Passage]: ...


_FACTORIES: dict[str, Callable[[], Reranker]] = {}


def register_reranker(name: str, factory: Callable[[], Reranker]) -> None:
    """Make a reranker available under `name` (settings.retrieval.reranker picks it)."""
    _FACTORIES[name] = factory


def get_reranker(name: str | None) -> Reranker | None:
    """The reranker called `name`, or None for "none"/unset (hybrid order is kept)."""
    if not name or name == "none":
        return None
    if name not in _FACTORIES:
        raise UnknownName("reranker", name, ["none", *_FACTORIES])
    return _FACTORIES[name]()
