"""Carry out a Route on real backends: score options or chat, with health, then combine.

`execute(route, backends, question)` is what the pipeline calls. Multiple choice goes
through `score_options` (one pass per backbone); free text through `chat`. Every call
goes through `Health`, so a dead backbone falls back to the next one in the route's
score order and a half-streamed reply is never returned as a complete answer.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable, Mapping, Sequence

from medqa.errors import BackendUnavailable
from medqa.lang import detect_lang
from medqa.models.base import Backend
from medqa.routing import strategies as st
from medqa.routing.health import AllBackendsFailed, Health, Outcome
from medqa.types import Answer, GenParams, Message, Passage, Question, Route

TokenSink = Callable[[str, str], None]  # (backbone, text piece)


def mcq_prompt(q: Question, passages: Sequence[Passage] = ()) -> str:
    """A plain option-scoring prompt; the next token after it is the answer letter."""
    ctx = "".join(f"[{i}] {p.text}\n" for i, p in enumerate(passages, 1))
    opts = "".join(f"{k}. {v}\n" for k, v in (q.options or {}).items())
    head = f"Relevant documents:\n{ctx}\n" if ctx else ""
    return f"{head}Question: {q.text}\n{opts}Answer:"


def chat_messages(q: Question, passages: Sequence[Passage] = ()) -> list[Message]:
    """Default messages for free text when the pipeline passes none."""
    ctx = "\n".join(f"[{i}] {p.text}" for i, p in enumerate(passages, 1))
    user = f"Documents:\n{ctx}\n\nQuestion: {q.text}" if ctx else q.text
    return [*q.history, Message("user", user)]


def fallback_order(route: Route, first: str) -> list[str]:
    """`first`, then the route's other candidates by descending score."""
    rest = sorted(route.scores, key=lambda n: -route.scores[n])
    return list(dict.fromkeys([first, *rest]))


def _stream_text(backend: Backend, messages: list[Message], params: GenParams,
                 on_token: TokenSink | None) -> str:
    parts: list[str] = []
    try:
        for d in backend.chat(messages, params):
            if d.text:
                parts.append(d.text)
                if on_token:
                    on_token(backend.name, d.text)
    except BackendUnavailable as e:
        raise BackendUnavailable(e.message, e.hint, partial_text="".join(parts)) from e
    except Exception as e:  # an engine crash mid-stream: keep what arrived as a note only
        raise BackendUnavailable(f"{backend.name} died mid-answer: {e}", partial_text="".join(parts)) from e
    return "".join(parts)


class _Runner:
    """Turns one backbone name into a Candidate, through Health."""

    def __init__(self, q: Question, backends: Mapping[str, Backend], health: Health,
                 prompt: str | None, messages: list[Message] | None, passages: Sequence[Passage],
                 params: GenParams, on_token: TokenSink | None) -> None:
        self.q, self.backends, self.health = q, backends, health
        self.letters = list(q.options or {})
        self.prompt = prompt if prompt is not None else mcq_prompt(q, passages)
        self.messages = messages if messages is not None else chat_messages(q, passages)
        self.params, self.on_token = params, on_token
        self.failures: list[str] = []

    def _one(self, name: str) -> st.Candidate:
        if name not in self.backends:
            raise BackendUnavailable(f"{name} is not loaded.")
        b = self.backends[name]
        if self.letters:
            lp = b.score_options(self.prompt, [f" {k}" for k in self.letters])
            return st.from_option_scores(name, self.letters, lp, self.q.options)
        return st.Candidate(name, _stream_text(b, self.messages, self.params, self.on_token))

    def run(self, order: list[str]) -> Outcome[st.Candidate]:
        # Fall back only to backbones that are loaded; keep the order if none is, to say so.
        order = [n for n in order if n in self.backends] or order
        try:
            out = self.health.call(order, self._one)
        except AllBackendsFailed:
            self.failures += [f"{n} (failed)" for n in order]
            raise
        self.failures += [f"{a.backbone} ({a.error})" for a in out.failed]
        return out


def execute(
    route: Route,
    backends: Mapping[str, Backend],
    question: Question,
    *,
    passages: Sequence[Passage] = (),
    prompt: str | None = None,
    messages: list[Message] | None = None,
    params: GenParams | None = None,
    health: Health | None = None,
    weights: Mapping[str, float] | None = None,
    min_margin: st.Margins = 0.2,
    min_agreement: float = 0.5,
    on_token: TokenSink | None = None,
) -> Answer:
    """Answer `question` as `route` says; never raises for backend failures (Answer.error)."""
    health = health or Health()
    params = replace(params or GenParams(), reasoning=route.reasoning)
    r = _Runner(question, backends, health, prompt, messages, passages, params, on_token)
    lang = question.lang or detect_lang(question.text)
    t0 = time.perf_counter()
    try:
        if route.strategy == "vote" and len(route.backbones) > 1:
            # Each voter is asked alone: a dead voter drops out rather than have another model vote twice.
            cands = []
            for name in route.backbones:
                try:
                    cands.append(r.run([name]).value)
                except AllBackendsFailed:
                    continue
            if not cands:
                cands.append(r.run(fallback_order(route, route.backbones[0])).value)
            d = st.abstain(st.vote(cands, weights), min_agreement, lang)
        elif route.strategy == "cascade" and len(route.backbones) > 1:
            cands = []
            for name in st.cascade_order(route.backbones, min_margin):
                try:
                    c = r.run([name]).value
                except AllBackendsFailed:
                    continue
                cands.append(c)
                if not st.needs_escalation(c, min_margin):
                    break
            if not cands:
                cands.append(r.run(fallback_order(route, route.backbones[-1])).value)
            d = st.cascade(cands, min_margin)
        else:
            d = st.single(r.run(fallback_order(route, route.backbones[0])).value)
    except AllBackendsFailed as e:
        return Answer(
            text=e.partial_text, backbone="", route=route, partial=bool(e.partial_text),
            error=f"{e.message} {e.hint}".strip(),
            timings={"backbones_s": time.perf_counter() - t0},
        )
    note = f"; fell back after {', '.join(r.failures)}" if r.failures else ""
    return Answer(
        text=d.text,
        backbone=d.backbone,
        route=replace(route, explanation=route.explanation + note) if note else route,
        agreement=d.agreement,
        views=d.views if (d.disagree or len(d.views) > 1) else (),
        timings={"backbones_s": time.perf_counter() - t0, "fallbacks": float(len(r.failures))},
    )
