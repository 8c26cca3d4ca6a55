"""medqa: a healthcare question-answering assistant for hospitals.

Public API: `Assistant`, `Settings`, `load_assistant()`. Importing medqa loads no model,
opens no store and touches no network; those happen when an Assistant is built.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medqa.config import Settings, load_settings
from medqa.errors import MedQAError

__version__ = "0.1.0"
__all__ = ["Assistant", "Settings", "MedQAError", "load_assistant", "load_settings"]

if TYPE_CHECKING:
    from medqa.pipeline import Assistant


def __getattr__(name: str) -> Any:
    # The pipeline pulls in engines and stores; import it only when asked for.
    if name == "Assistant":
        from medqa.pipeline import Assistant

        return Assistant
    raise AttributeError(name)


def load_assistant(**overrides: Any) -> "Assistant":
    """An Assistant on the configured stores and backbones (CLI-style overrides win)."""
    from medqa.pipeline import Assistant

    return Assistant.from_settings(load_settings(**overrides))
