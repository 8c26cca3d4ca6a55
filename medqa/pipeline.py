"""The Assistant: safety -> retrieval -> route -> generate -> answer check, as events."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Iterator

from medqa.attribution import citations_for
from medqa.config import Settings
from medqa.errors import MedQAError, QueryError, StorageFull
from medqa.models.base import Backend
from medqa.prompts import BUDGETS, ENGINE_BUDGET, build_messages, context_block
from medqa.routing.health import Health
from medqa.types import (
    Answer,
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

log = logging.getLogger(__name__)

class Assistant:
    """One question in, an ordered stream of events out; every front end drives this."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Prefill dominates on a CPU: these three numbers set the time to first token and to
        # the whole answer. Settings win; otherwise the engine's budget.
        budget = BUDGETS[ENGINE_BUDGET.get(settings.models.engine, "wide")]
        a = settings.answer
        self.context_tokens: int = a.context_tokens or budget[0]
        self.top_passages: int = a.top_passages or budget[1]
        self.max_tokens: int = a.max_tokens or budget[2]
        self._backends: dict[str, Backend] = {}
        self._retrievers: dict[str, object] = {}
        self._lock = threading.RLock()  # guards the lazy caches, not the engines
        self._router: Any = None
        self._policy: Any = None
        self._audit: Any = None
        self.health = Health()  # one circuit breaker per backbone, shared by every request

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

    def policy(self) -> Any:
        """The hospital's safety policy (settings.safety.policy_file or the packaged default)."""
        with self._lock:
            if self._policy is None:
                from medqa.safety.policy import load_policy

                self._policy = load_policy(self.settings)
            return self._policy

    def audit(self) -> Any:
        """The audit log every request is recorded in (MEDQA_HOME/audit.sqlite3)."""
        with self._lock:
            if self._audit is None:
                from medqa.audit import AuditLog

                self.settings.audit_db.parent.mkdir(parents=True, exist_ok=True)
                self._audit = AuditLog(self.settings.audit_db)
            return self._audit

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

        triaged = self._screen(q)  # red flags and policy, before any model runs
        yield triaged
        lang = q.lang or triaged.lang
        disclaimer = self.policy().disclaimer(q.mode, lang)
        if triaged.emergency or triaged.message:  # escalation, or a policy refusal
            timings["total_s"] = time.perf_counter() - t0
            yield self._audited(q, triaged, Answer(
                text=triaged.message or "", emergency=triaged.emergency, disclaimer=disclaimer,
                timings=timings, request_id=rid))
            return

        route = self._route(q)
        t = time.perf_counter()
        passages = self._retrieve(q) if route.retrieve else []
        timings["retrieve_s"] = time.perf_counter() - t
        yield Retrieved(tuple(passages), timings["retrieve_s"])
        yield Routed(route)

        shown = context_block(passages, self.context_tokens, self.top_passages)
        messages = build_messages(q, shown, lang)
        params = GenParams(
            max_tokens=self.max_tokens,
            timeout_s=self.settings.models.request_timeout_s,
            reasoning=route.reasoning,
        )
        if len(route.backbones) > 1 and route.strategy != "single":
            answer = self._ensemble(q, route, shown, messages, params)
            timings.update(answer.timings)
            timings["total_s"] = time.perf_counter() - t0
            yield self._audited(q, triaged, replace(
                answer, citations=citations_for(answer.text, shown), disclaimer=disclaimer,
                timings=timings, request_id=rid))
            return

        name = route.backbones[0]
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
        answer_text = "".join(text).strip()
        timings["total_s"] = time.perf_counter() - t0
        yield self._audited(q, triaged, Answer(
            text=answer_text,
            citations=citations_for(answer_text, shown),
            backbone=name,
            route=route,
            disclaimer=disclaimer,
            partial=error is not None,
            error=error,
            timings=timings,
            request_id=rid,
        ))

    # ---- stages (seams the safety and routing modules plug into) ----
    def _screen(self, q: Question) -> Triaged:
        """Safety triage and the hospital's policy, before any model sees the question."""
        from medqa.safety.gate import screen

        return screen(q, self.settings, self.policy())

    def _route(self, q: Question) -> Route:
        """Which backbone answers, whether to retrieve, and how: the configured router."""
        name = self.settings.routing.router
        if name == "fixed":
            role = self.settings.models.default_role
            backbone = self.settings.models.roles[role]
            return Route(
                backbones=(backbone,),
                retrieve=True,
                explanation=f"fixed role binding: role {role!r} -> {backbone} "
                            f"on {self.settings.models.engine}",
            )
        with self._lock:
            if self._router is None:
                from medqa.routing.registry import get_router

                self._router = get_router(name, self.settings)
        return self._router.route(q)

    def _ensemble(self, q: Question, route: Route, shown: list[Passage],
                  messages: list, params: GenParams) -> Answer:
        """Cascade or vote over several backbones; says when they disagree."""
        from medqa.routing.execute import execute

        backends: dict[str, Backend] = {}
        for name in route.backbones:
            try:
                backends[name] = self.backend(name)
            except MedQAError:  # a backbone that cannot load drops out of the ensemble
                continue
        return execute(route, backends, q, passages=shown, messages=messages,
                       params=params, health=self.health)

    def _audited(self, q: Question, triaged: Triaged, answer: Answer) -> Answer:
        """Record the request in the audit log (redacted there); a failed write is reported."""
        try:
            self.audit().record(
                request_id=answer.request_id, user=q.user, tenant=q.tenant, question=q.text,
                lang=q.lang or triaged.lang, mode=q.mode, triage=triaged, route=answer.route,
                backbones=list(answer.route.backbones) if answer.route else
                [answer.backbone] if answer.backbone else [],
                citations=answer.citations, latency=answer.timings.get("total_s"),
                answer=answer.text, error=answer.error, emergency=answer.emergency)
        except Exception as e:  # the answer still reaches the user; the failure is not hidden
            log.exception("audit log write failed for request %s", answer.request_id)
            note = str(e) if isinstance(e, StorageFull) else (
                f"The audit log could not be written ({type(e).__name__}: {e}); tell IT: "
                "check free disk space and `medqa audit verify`.")
            return answer.with_error(note)
        return answer

    def _retrieve(self, q: Question) -> list[Passage]:
        from medqa.safety.gate import filter_passages

        found = self.retriever(q.tenant).search(q.text, self.settings.retrieval.k)  # type: ignore[attr-defined]
        return list(filter_passages(found, self.policy()))  # documents are data, never instructions

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
