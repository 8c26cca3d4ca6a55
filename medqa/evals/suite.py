"""A suite: the cross product of backbones × modes × RAG settings over one evaluation set,
from CLI flags or a YAML file in evals/, executed configuration by configuration."""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import yaml

from medqa.config import Settings
from medqa.errors import ConfigError
from medqa.evals.datasets import load_items
from medqa.evals.runner import Answerer, RunConfig, RunStats, run
from medqa.models.base import Backend


@dataclass(frozen=True)
class Suite:
    """What to run and where the results go."""

    set: str = "mirage_subset_1000"
    tasks: tuple[str, ...] = ()
    limit: int | None = None
    backbones: tuple[str, ...] = ()
    router: str | None = None
    modes: tuple[str, ...] = ("score",)
    rag: tuple[str, ...] = ("off",)
    k: int = 3
    engine: str | None = None  # None = settings.models.engine
    concurrency: int = 1
    max_tokens: int = 384
    out: str | None = None  # run folder; None = <MEDQA_HOME>/evals/runs/<name>
    report: str | None = None  # write a report here when the suite is done
    name: str = "adhoc"
    title: str = ""
    notes: str = ""
    notes_file: str | None = None  # Markdown put under the report's title (read when the report is written)

    def report_notes(self) -> str:
        """The suite's notes, inline and from notes_file."""
        extra = Path(self.notes_file).read_text(encoding="utf-8") if self.notes_file else ""
        return "\n\n".join(x for x in (self.notes.strip(), extra.strip()) if x)

    @classmethod
    def from_yaml(cls, path: Path) -> "Suite":
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise ConfigError(
                f"{path}: unknown suite keys {sorted(unknown)}.", f"Valid keys: {', '.join(sorted(known))}."
            )
        for key in ("tasks", "backbones", "modes", "rag"):
            if key in raw:
                v = raw[key]
                # YAML reads a bare `off` as False: normalise rag back to its word.
                vals = v if isinstance(v, list) else [v]
                raw[key] = tuple(("off" if x is False else "on" if x is True else str(x)) for x in vals)
        raw.setdefault("name", Path(path).stem)
        return cls(**raw)

    def run_dir(self, settings: Settings) -> Path:
        return Path(self.out) if self.out else settings.home / "evals" / "runs" / self.name

    def configs(self, settings: Settings, corpora: tuple[str, ...]) -> list[RunConfig]:
        """One RunConfig per (backbone or route) × mode × rag setting."""
        if not self.backbones and not self.router:
            raise ConfigError("No backbones to evaluate.", "Pass --backbones a,b or --router NAME.")
        engine = self.engine or settings.models.engine
        who = [f"route:{self.router}"] if self.router else list(self.backbones)
        out = []
        for b in who:
            for mode in self.modes:
                for rag in self.rag:
                    out.append(RunConfig(
                        dataset=self.set, backbone=b, engine=engine, mode=mode, rag=rag,
                        k=self.k if rag != "off" else 0,
                        corpora=corpora if rag != "off" else (),
                        router=self.router, max_tokens=self.max_tokens if mode == "cot" else 0,
                    ))
        return out


class BackendPool:
    """Backends built on first use and shared by every configuration (loading costs seconds)."""

    def __init__(self, settings: Settings, engine: str | None) -> None:
        self.settings, self.engine = settings, engine
        self._b: dict[str, Backend] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> Backend:
        with self._lock:
            if name not in self._b:
                from medqa.models.registry import get_backend

                self._b[name] = get_backend(name, self.settings, self.engine)
            return self._b[name]

    def close(self) -> None:
        for b in self._b.values():
            b.close()
        self._b.clear()


def indexed_corpora(settings: Settings) -> tuple[str, ...]:
    """Corpora (sources) in the tenant's index, as the retrieval area reports them."""
    from medqa.retrieval.hybrid import index_status

    return tuple(sorted(index_status(settings)["sources"]))


def _open_retriever(settings: Settings):
    from medqa.retrieval.hybrid import open_retriever

    # RAG on means MIRAGE's RAG: every question gets its k passages, however weak; the
    # Assistant's relevance floor would quietly turn retrieval off for some of them.
    floorless = settings.retrieval.model_copy(update={"min_relevance": 0.0})
    return open_retriever(settings.model_copy(update={"retrieval": floorless}))


def _open_router(name: str, settings: Settings):
    from medqa.routing import registry

    return registry.get_router(name, settings)


def execute(
    suite: Suite,
    settings: Settings,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    pool: BackendPool | None = None,
) -> list[RunStats]:
    """Run every configuration of the suite; returns one RunStats per configuration."""
    items = load_items(suite.set, suite.tasks or None, suite.limit, settings)
    needs_rag = any(r != "off" for r in suite.rag)
    retriever = _open_retriever(settings) if needs_rag else None
    corpora = indexed_corpora(settings) if needs_rag else ()
    router = _open_router(suite.router, settings) if suite.router else None
    own_pool = pool is None
    pool = pool or BackendPool(settings, suite.engine)
    out_dir = suite.run_dir(settings)
    results = []
    try:
        for cfg in suite.configs(settings, corpora):
            if cfg.router is None:
                pool(cfg.backbone)  # load before the clock starts: seconds/question excludes loading
            answer = Answerer(cfg, pool, retriever=retriever, router=router)
            stats = run(cfg, items, answer, out_dir, concurrency=suite.concurrency, progress=progress)
            right = sum(r.correct for r in stats.rows)
            echo(f"{cfg.backbone} {cfg.mode} rag={cfg.rag}: {right}/{len(stats.rows)} correct, "
                 f"{stats.done} new, {stats.skipped} resumed -> {stats.path}")
            results.append(stats)
    finally:
        if own_pool:
            pool.close()
    return results


def with_overrides(suite: Suite, **kw) -> Suite:
    """The suite with the given (non-None) fields replaced."""
    return replace(suite, **{k: v for k, v in kw.items() if v is not None})

