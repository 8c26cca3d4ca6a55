"""The Assistant: safety -> retrieval -> route -> generate -> answer check, as events."""
from __future__ import annotations

import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Sequence

from medqa.config import Settings
from medqa.errors import MedQAError, QueryError
from medqa.lang import detect_lang
from medqa.models.base import Backend
from medqa.prompts import CONTEXT_TOKENS, TOP_PASSAGES, build_messages, context_block
from medqa.types import (
    Answer,
    Citation,
    Event,
    GenParams,
    Passage,
    Question,
    Reasoning,
    Retrieved,
    Route,
    Routed,
    Token,
    Triaged,
)

ANSWER_MAX_TOKENS = 256
_CITE = re.compile(r"\[(\d+(?:\s*[,，、]\s*\d+)*)\]")


def cited_numbers(text: str) -> list[int]:
    """Numbers cited as [n] or [n, m] in text, in order of first appearance."""
    seen: list[int] = []
    for group in _CITE.findall(text):
        for n in re.split(r"\s*[,，、]\s*", group):
            if int(n) not in seen:
                seen.append(int(n))
    return seen


def citations_for(text: str, shown: Sequence[Passage]) -> tuple[Citation, ...]:
    """Citations of the answer, each pointing at a passage the model was shown."""
    return tuple(Citation(n, shown[n - 1]) for n in cited_numbers(text) if 1 <= n <= len(shown))


class Assistant:
    """One question in, an ordered stream of events out; every front end drives this."""

    # Prefill dominates on a CPU (~117 prompt tokens/s for the 1.5B on 2 cores): these two
    # numbers set the time to first token and to the whole answer.
    context_tokens: int = CONTEXT_TOKENS
    max_tokens: int = ANSWER_MAX_TOKENS

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._backends: dict[str, Backend] = {}
        self._retrievers: dict[str, object] = {}
        self._lock = threading.Lock()  # guards the lazy caches, not the engines

    @classmethod
    def from_settings(cls, settings: Settings) -> "Assistant":
        """An Assistant that opens stores and loads models on first use."""
        return cls(settings)

    # ---- lazy resources ----
    def backend(self, name: str) -> Backend:
        """The Backend serving backbone `name` (loaded once, shared by every request)."""
        with self._lock:
            if name not in self._backends:
                from medqa.models.replicas import build_backend

                self._backends[name] = build_backend(name, self.settings)
            return self._backends[name]

    def retriever(self, tenant: str | None = None) -> object:
        """The tenant's hybrid retriever; raises IndexMissing if nothing was ingested."""
        tenant = tenant or self.settings.tenant
        with self._lock:
            if tenant not in self._retrievers:
                from medqa.retrieval.hybrid import open_retriever

                s = self.settings if tenant == self.settings.tenant else \
                    self.settings.model_copy(update={"tenant": tenant})
                self._retrievers[tenant] = open_retriever(s)
            return self._retrievers[tenant]

    def close(self) -> None:
        """Release models and stores."""
        with self._lock:
            for b in self._backends.values():
                b.close()
            self._backends.clear()
            self._retrievers.clear()

    # ---- the public API ----
    def search(self, query: str, k: int = 5) -> list[Passage]:
        """Passages for a query from this deployment's index."""
        return self.retriever().search(self._check_text(query), k)  # type: ignore[attr-defined]

    def ask(self, q: Question | str) -> Answer:
        """The final Answer of stream(q)."""
        answer = None
        for ev in self.stream(q):
            if isinstance(ev, Answer):
                answer = ev
        assert answer is not None  # stream() always ends with an Answer
        return answer

    def ask_batch(self, qs: list[Question | str]) -> list[Answer]:
        """Answers in input order; replicas of one backbone answer in parallel."""
        replicas = getattr(self.settings.models, "replicas", 1) or 1
        if replicas <= 1 or len(qs) <= 1:
            return [self.ask(q) for q in qs]
        with ThreadPoolExecutor(max_workers=replicas) as pool:
            return list(pool.map(self.ask, qs))

    def stream(self, q: Question | str) -> Iterator[Event]:
        """Events in order: Triaged, Retrieved, Routed, Token*/Reasoning*, Answer."""
        q = self._question(q)
        rid = uuid.uuid4().hex[:12]
        t0 = time.perf_counter()
        timings: dict[str, float] = {}

        triaged = self._screen(q)
        yield triaged
        if triaged.emergency:
            timings["total_s"] = time.perf_counter() - t0
            yield Answer(text=triaged.message or "", emergency=True, timings=timings,
                         request_id=rid)
            return
        lang = q.lang or triaged.lang

        route = self._route(q)
        t = time.perf_counter()
        passages = self._retrieve(q) if route.retrieve else []
        timings["retrieve_s"] = time.perf_counter() - t
        yield Retrieved(tuple(passages), timings["retrieve_s"])
        yield Routed(route)

        name = route.backbones[0]
        shown = context_block(passages, self.context_tokens, TOP_PASSAGES)
        messages = build_messages(q, shown, lang)
        params = GenParams(
            max_tokens=self.max_tokens,
            timeout_s=self.settings.models.request_timeout_s,
            reasoning=route.reasoning,
        )
        text: list[str] = []
        error: str | None = None
        try:
            t = time.perf_counter()
            loaded = name in self._backends
            backend = self.backend(name)
            if not loaded:  # the first request pays for loading the model: say so
                timings["load_s"] = time.perf_counter() - t
            for d in backend.chat(messages, params):
                if d.reasoning:
                    yield Reasoning(d.reasoning, name)
                if d.text:
                    timings.setdefault("first_token_s", time.perf_counter() - t0)
                    text.append(d.text)
                    yield Token(d.text, name)
                if d.prompt_tokens is not None:
                    timings["prompt_tokens"] = float(d.prompt_tokens)
                    timings["completion_tokens"] = float(d.completion_tokens or 0)
        except MedQAError as e:  # BackendUnavailable, or ModelNotFound while loading
            error = str(e)
        except Exception as e:  # an engine bug must not take the front end down with it
            error = (f"{name} stopped answering ({type(e).__name__}: {e}). Try again; if it "
                     "keeps happening, run `medqa models verify` and check the server log.")
        answer = "".join(text).strip()
        timings["total_s"] = time.perf_counter() - t0
        yield Answer(
            text=answer,
            citations=citations_for(answer, shown),
            backbone=name,
            route=route,
            partial=error is not None,
            error=error,
            timings=timings,
            request_id=rid,
        )

    # ---- stages (seams the safety and routing modules plug into) ----
    def _screen(self, q: Question) -> Triaged:
        """Safety triage before any model sees the question."""
        return Triaged(emergency=False, lang=q.lang or detect_lang(q.text))

    def _route(self, q: Question) -> Route:
        """Which backbone answers, and whether to retrieve: the configured role binding."""
        role = self.settings.models.default_role
        name = self.settings.models.roles[role]
        return Route(
            backbones=(name,),
            retrieve=True,
            explanation=f"fixed role binding: role {role!r} -> {name} "
                        f"on {self.settings.models.engine}",
        )

    def _retrieve(self, q: Question) -> list[Passage]:
        return self.retriever(q.tenant).search(q.text, self.settings.retrieval.k)  # type: ignore[attr-defined]

    # ---- helpers ----
    def _check_text(self, text: str) -> str:
        text = (text or "").strip()
        if not text:
            raise QueryError("The question is empty.", "Type a question and ask again.")
        limit = self.settings.retrieval.max_query_chars
        if len(text) > limit:
            raise QueryError(
                f"The question is {len(text)} characters long; the limit is {limit}.",
                "Shorten it, or raise retrieval.max_query_chars.",
            )
        return text

    def _question(self, q: Question | str) -> Question:
        if isinstance(q, str):
            q = Question(text=q, mode=self.settings.safety.mode,  # type: ignore[arg-type]
                         tenant=self.settings.tenant)
        self._check_text(q.text)
        return q
