"""Routers by name: `signal` (rules), `learned` (a trained model in MEDQA_HOME/router), or your own."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from medqa.config import Settings
from medqa.errors import UnknownName
from medqa.routing.base import Router

RouterFactory = Callable[[Settings], Router]
_ROUTERS: dict[str, RouterFactory] = {}


def default_learned_dir(settings: Settings) -> Path:
    """Where `medqa router train` saves by default and `learned` loads from."""
    return settings.home / "router" / "learned"


def register_router(name: str, factory: RouterFactory) -> None:
    """Make a router available under `name` (tests and plugins register theirs the same way)."""
    _ROUTERS[name] = factory


def router_names() -> list[str]:
    """Every registered router name."""
    return sorted(_ROUTERS)


def get_router(name: str, settings: Settings) -> Router:
    """The router called `name`; `learned:<dir>` loads a trained router from that folder."""
    if name.startswith("learned:"):
        from medqa.routing.learned import LearnedRouter

        return LearnedRouter.load(Path(name.split(":", 1)[1]))
    if name not in _ROUTERS:
        raise UnknownName("router", name, router_names() + ["learned:<dir>"])
    return _ROUTERS[name](settings)


def _signal(settings: Settings) -> Router:
    from medqa.routing.signal_router import SignalRouter

    return SignalRouter.from_settings(settings)


def _learned(settings: Settings) -> Router:
    from medqa.routing.learned import LearnedRouter

    return LearnedRouter.load(default_learned_dir(settings))


register_router("signal", _signal)
register_router("learned", _learned)
