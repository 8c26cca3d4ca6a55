"""Engines by name, and backends built from the manifest through them.

Every engine registers the same way (the built-in ones included), so tests register
their own engines through this same path.
"""
from __future__ import annotations

from typing import Callable

from medqa.config import Settings
from medqa.errors import UnknownName
from medqa.models.base import Backend

EngineFactory = Callable[[str, Settings], Backend]  # (backbone name, settings) -> Backend

_ENGINES: dict[str, EngineFactory] = {}
_BUILTIN = {
    "llamacpp": "medqa.models.engines.llamacpp",
    "transformers": "medqa.models.engines.transformers",
    "vllm": "medqa.models.engines.vllm",
}


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make an engine available under `name`."""
    _ENGINES[name] = factory


def engine_names() -> list[str]:
    return sorted(set(_ENGINES) | set(_BUILTIN))


def get_engine(name: str) -> EngineFactory:
    if name not in _ENGINES and name in _BUILTIN:
        import importlib

        importlib.import_module(_BUILTIN[name])  # registers itself on import
    try:
        return _ENGINES[name]
    except KeyError:
        raise UnknownName("engine", name, engine_names()) from None


def get_backend(name: str, settings: Settings, engine: str | None = None) -> Backend:
    """A Backend serving backbone `name` on `engine` (default: the configured engine)."""
    return get_engine(engine or settings.models.engine)(name, settings)
