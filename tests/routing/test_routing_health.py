"""Breakers, backoff and fallback with scripted backends that fail on command and a fake clock."""
from __future__ import annotations

import logging

import pytest

from medqa.routing.execute import execute
from medqa.routing.health import AllBackendsFailed, CircuitBreaker, Health, State
from medqa.routing.signal_router import SignalRouter
from medqa.types import Question, Route


def test_breaker_opens_half_opens_and_closes(clock, caplog):
    caplog.set_level(logging.INFO, logger="medqa.routing.health")
    b = CircuitBreaker("m", failure_threshold=2, latency_threshold_s=5, cooldown_s=30, clock=clock)
    b.record_failure()
    assert b.state is State.CLOSED and b.allow()
    b.record_failure()
    assert b.state is State.OPEN and not b.allow()
    clock.t += 29.9
    assert not b.allow()
    clock.t += 0.2
    assert b.allow() and b.state is State.HALF_OPEN
    b.record_failure()  # a failed trial re-opens at once
    assert b.state is State.OPEN
    clock.t += 30
    assert b.allow()
    b.record_success(1.0)
    assert b.state is State.CLOSED and b.failures == 0
    b.record_success(6.0)
    b.record_success(6.0)  # two slow calls count as two failures
    assert b.state is State.OPEN
    assert [(t[0].value, t[1].value) for t in b.transitions] == [
        ("closed", "open"), ("open", "half-open"), ("half-open", "open"), ("open", "half-open"),
        ("half-open", "closed"), ("closed", "open")]
    assert "breaker m: closed -> open" in caplog.text


def test_retries_back_off_exponentially_then_fall_back(clock):
    h = Health(failure_threshold=10, retries=3, base_delay_s=0.5, clock=clock, sleep=clock.sleep)
    calls = []

    def fn(name):
        calls.append(name)
        if name == "bad":
            raise ConnectionError("refused")
        return name.upper()

    out = h.call(["bad", "good"], fn)
    assert out.backbone == "good" and out.value == "GOOD"
    assert calls == ["bad"] * 4 + ["good"] and clock.sleeps == [0.5, 1.0, 2.0]
    assert [a.backbone for a in out.failed] == ["bad"] * 4
    with pytest.raises(AllBackendsFailed) as e:
        h.call(["bad"], fn)
    assert "bad: refused" in e.value.message and e.value.hint


def test_open_breaker_skips_the_backend_without_calling_it(clock):
    h = Health(failure_threshold=1, retries=0, clock=clock, sleep=clock.sleep)
    calls = []

    def fn(name):
        calls.append(name)
        if name == "bad":
            raise RuntimeError("boom")
        return name

    h.call(["bad", "good"], fn)
    h.call(["bad", "good"], fn)
    assert calls == ["bad", "good", "good"] and h.states() == {"bad": "open", "good": "closed"}


def test_backend_dying_mid_answer_goes_to_fallback_and_partial_is_never_the_answer(backends, script, clock):
    script.text = {"big": "the complete answer from big", "small": "small answer"}
    script.die_after = {"big": 2}
    route = Route(backbones=("big",), retrieve=False, scores={"big": 1.0, "small": 0.5})
    streamed = []
    h = Health(retries=0, clock=clock, sleep=clock.sleep)
    ans = execute(route, backends, Question("free text?"), health=h, on_token=lambda b, t: streamed.append(b))
    assert ans.text == "small answer" and ans.backbone == "small" and not ans.partial and ans.error is None
    assert "fell back after big" in ans.route.explanation
    assert streamed.count("big") == 2  # what big had sent before it died
    # With no fallback left, the partial text comes back marked partial, with an error.
    script.down = {"small"}
    ans = execute(route, backends, Question("free text?"), health=h)
    assert ans.partial and ans.text == "the complete" and ans.error and ans.backbone == ""


def test_killing_a_backend_during_100_routed_questions(settings, backends, script, clock, caplog):
    """Every question still gets an answer or a clear error; breaker changes are logged."""
    caplog.set_level(logging.INFO, logger="medqa.routing.health")
    settings.models.roles = {"reasoning": "big", "general": "big", "efficient": "small"}
    router = SignalRouter.from_settings(settings)
    h = Health(failure_threshold=3, cooldown_s=60, retries=1, clock=clock, sleep=clock.sleep)
    script.letter = {"big": "B", "small": "B"}
    answers = []
    for i in range(100):
        if i == 30:
            script.down.add("big")  # the engine behind `big` dies
        if i == 80:
            script.down.discard("big")  # ...and comes back
            clock.t += 120
        q = Question(f"Question {i}: " + "which of these drugs treats this condition? " * 6, {"A": "one", "B": "two"})
        route = router.route(q)
        assert route.backbones == ("big",)  # the general role, by the default rule
        answers.append(execute(route, backends, q, health=h))
    assert all(a.error is None and a.text == "B. two" for a in answers)
    assert {a.backbone for a in answers[31:80]} == {"small"}
    assert answers[99].backbone == "big" and h.states()["big"] == "closed"
    # 30 answers, then 3 failed tries (one retry after a 0.5 s backoff) open the breaker,
    # which keeps calls off the dead backend until the cooldown; then 20 answers again.
    assert sum(n == "big" for n, _ in script.calls) == 30 + 3 + 20 and clock.sleeps == [0.5]
    assert "breaker big: closed -> open" in caplog.text
    assert "breaker big: open -> half-open" in caplog.text and "half-open -> closed" in caplog.text
    # Both dead: a clear error, not an exception.
    script.down = {"big", "small"}
    a = execute(router.route(q), backends, q, health=h)
    assert a.error and "No backbone could answer" in a.error and a.text == ""


def test_vote_and_cascade_on_backends(backends, script, clock):
    script.letter = {"big": "B", "small": "A", "zh": "B"}
    script.strength = {"small": 0.05}  # small is unsure: the cascade escalates
    q = Question("Which?", {"A": "one", "B": "two"})
    h = Health(clock=clock, sleep=clock.sleep)
    scores = {"small": 1.0, "big": 0.8, "zh": 0.6}
    a = execute(Route(("small", "big"), False, strategy="cascade", scores=scores), backends, q, health=h)
    assert a.backbone == "big" and a.text == "B. two" and len(a.views) == 2
    script.strength = {}
    script.calls.clear()
    a = execute(Route(("small", "big"), False, strategy="cascade", scores=scores), backends, q, health=h)
    assert a.backbone == "small" and [n for n, _ in script.calls] == ["small"]
    # Per-backbone margins from training results: a backbone never trusted is not even asked.
    script.calls.clear()
    a = execute(Route(("small", "big"), False, strategy="cascade", scores=scores), backends, q, health=h,
                min_margin={"big": 0.0})
    assert a.backbone == "big" and [n for n, _ in script.calls] == ["big"]
    a = execute(Route(("small", "big", "zh"), False, strategy="vote", scores=scores), backends, q, health=h)
    assert a.text == "B. two" and a.agreement == pytest.approx(2 / 3) and len(a.views) == 3
    script.letter = {"big": "B", "small": "A", "zh": "C"}
    q3 = Question("Which?", {"A": "one", "B": "two", "C": "three"})
    a = execute(Route(("small", "big", "zh"), False, strategy="vote", scores=scores), backends, q3, health=h)
    assert a.text.startswith("The models disagree") and len(a.views) == 3


@pytest.mark.slow
def test_real_llamacpp_backbone_answers_when_the_first_choice_is_dead(settings, backends, script, clock):
    """SmolLM2-135M on llama.cpp takes over from a dead backbone; its option scores become the answer."""
    from medqa.models.registry import get_backend

    real = "smollm2-135m-instruct"
    if not (settings.models_dir / f"{real}.gguf").exists():
        pytest.skip(f"{real} is not assembled: run `make models`")
    smol = get_backend(real, settings, engine="llamacpp")
    try:
        script.down = {"big"}
        q = Question("Which organ produces insulin?", {"A": "Liver", "B": "Pancreas", "C": "Kidney", "D": "Spleen"})
        route = Route(("big",), False, scores={"big": 1.0, real: 0.5})
        a = execute(route, {"big": backends["big"], real: smol}, q, health=Health(clock=clock, sleep=clock.sleep))
        assert a.backbone == real and a.error is None and a.text[0] in "ABCD"
        assert a.text == f"{a.text[0]}. {q.options[a.text[0]]}"
        assert "fell back after big" in a.route.explanation
    finally:
        smol.close()
