"""Backend health: a circuit breaker per backbone, retries with backoff, fallback in order.

Time is injected (`clock`, `sleep`) so tests drive it with a fake clock. A backend that
dies mid-answer counts as a failure and the request moves to the next backbone; its
partial text is kept only as a note, never returned as the answer.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Generic, Sequence, TypeVar

from medqa.errors import BackendUnavailable

log = logging.getLogger("medqa.routing.health")
T = TypeVar("T")


class State(str, Enum):
    """Circuit breaker states."""

    CLOSED = "closed"  # calls flow
    OPEN = "open"  # calls are refused until the cooldown passes
    HALF_OPEN = "half-open"  # one trial call decides: closed again, or open again


@dataclass
class CircuitBreaker:
    """Opens after `failure_threshold` consecutive failures or slow calls; retries after a cooldown."""

    name: str
    failure_threshold: int = 3
    latency_threshold_s: float = 60.0
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    state: State = State.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    transitions: list[tuple[State, State, str]] = field(default_factory=list)

    def _set(self, new: State, why: str) -> None:
        if new is self.state:
            return
        old, self.state = self.state, new
        self.transitions.append((old, new, why))
        level = logging.WARNING if new is State.OPEN else logging.INFO
        log.log(level, "breaker %s: %s -> %s (%s)", self.name, old.value, new.value, why)

    def allow(self) -> bool:
        """May a call go to this backend now? Moves open -> half-open after the cooldown."""
        if self.state is State.OPEN and self.clock() - self.opened_at >= self.cooldown_s:
            self._set(State.HALF_OPEN, f"cooldown of {self.cooldown_s:g}s passed")
        return self.state is not State.OPEN

    def record_success(self, seconds: float = 0.0) -> None:
        """A call finished; a slow one counts as a failure."""
        if seconds > self.latency_threshold_s:
            self.record_failure(f"slow: {seconds:.1f}s > {self.latency_threshold_s:g}s")
            return
        self.failures = 0
        self._set(State.CLOSED, "call succeeded")

    def record_failure(self, why: str = "error") -> None:
        """A call failed; enough in a row (or any in half-open) open the breaker."""
        self.failures += 1
        if self.state is State.HALF_OPEN or self.failures >= self.failure_threshold:
            self.opened_at = self.clock()
            self._set(State.OPEN, f"{self.failures} consecutive failure(s), last: {why}")


@dataclass(frozen=True)
class Attempt:
    """One failed try, kept so the answer can say what happened."""

    backbone: str
    error: str
    partial_text: str = ""


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """The backbone that answered, its value, and the failures before it."""

    backbone: str
    value: T
    failed: tuple[Attempt, ...] = ()


class AllBackendsFailed(BackendUnavailable):
    """Every backbone in the fallback order failed or had an open breaker."""


class Health:
    """Breakers for every backbone plus the retry/fallback loop around calls."""

    def __init__(
        self,
        failure_threshold: int = 3,
        latency_threshold_s: float = 60.0,
        cooldown_s: float = 30.0,
        retries: int = 1,
        base_delay_s: float = 0.5,
        max_delay_s: float = 8.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.failure_threshold, self.latency_threshold_s = failure_threshold, latency_threshold_s
        self.cooldown_s, self.retries = cooldown_s, retries
        self.base_delay_s, self.max_delay_s = base_delay_s, max_delay_s
        self.clock, self.sleep = clock, sleep
        self.breakers: dict[str, CircuitBreaker] = {}

    def breaker(self, name: str) -> CircuitBreaker:
        """The breaker of one backbone (created closed on first use)."""
        if name not in self.breakers:
            self.breakers[name] = CircuitBreaker(
                name, self.failure_threshold, self.latency_threshold_s, self.cooldown_s, self.clock)
        return self.breakers[name]

    def delay(self, attempt: int) -> float:
        """Exponential backoff before retry number `attempt` (1-based)."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))

    def call(self, names: Sequence[str], fn: Callable[[str], T]) -> Outcome[T]:
        """fn(name) on the first healthy backbone, retrying with backoff, then falling back."""
        failed: list[Attempt] = []
        for name in dict.fromkeys(names):
            br = self.breaker(name)
            for attempt in range(self.retries + 1):
                if not br.allow():
                    failed.append(Attempt(name, "circuit open"))
                    break
                if attempt:
                    self.sleep(self.delay(attempt))
                start = self.clock()
                try:
                    value = fn(name)
                except Exception as e:  # any engine crash: the request must still be answered
                    partial = getattr(e, "partial_text", "")
                    br.record_failure(type(e).__name__)
                    failed.append(Attempt(name, str(e) or type(e).__name__, partial))
                    log.info("backbone %s failed (%s); attempt %d", name, e, attempt + 1)
                    continue
                br.record_success(self.clock() - start)
                return Outcome(name, value, tuple(failed))
        tried = "; ".join(f"{a.backbone}: {a.error}" for a in failed) or "no backbone given"
        raise AllBackendsFailed(
            f"No backbone could answer ({tried}).",
            "Check `medqa models status`; the breakers retry after their cooldown.",
            partial_text=next((a.partial_text for a in reversed(failed) if a.partial_text), ""),
        )

    def states(self) -> dict[str, str]:
        """Backbone -> breaker state, for status pages."""
        return {n: b.state.value for n, b in self.breakers.items()}
