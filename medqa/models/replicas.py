"""Several replicas of one backbone behind one Backend: least-outstanding-requests
balancing, fail-over before the first token, and a deadline no engine can overrun."""
from __future__ import annotations

import queue
import threading
import time
from typing import Iterator, Sequence

from medqa.config import Settings
from medqa.errors import BackendUnavailable, MedQAError
from medqa.models.base import Backend
from medqa.models.registry import get_backend
from medqa.types import Delta, GenParams, Message

_END = object()


def guarded(stream: Iterator[Delta], timeout_s: float, backend: str) -> Iterator[Delta]:
    """Re-yield `stream` from a worker thread, so a hung engine cannot hang the caller.

    Past the deadline this raises BackendUnavailable carrying the text received so far;
    the worker is told to stop and left to finish (or stay stuck) on its own.
    """
    q: queue.Queue = queue.Queue(maxsize=64)
    stop = threading.Event()

    def pump() -> None:
        try:
            for d in stream:
                while not stop.is_set():
                    try:
                        q.put(d, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            q.put(_END)
        except BaseException as e:  # handed to the consumer, raised there
            q.put(e)
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()

    threading.Thread(target=pump, daemon=True, name=f"medqa-{backend}").start()
    end = time.monotonic() + timeout_s
    partial: list[str] = []
    try:
        while True:
            try:
                item = q.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise BackendUnavailable(
                    f"{backend} sent nothing for too long and was stopped after "
                    f"{timeout_s:.0f} s.",
                    "The answer so far is kept. Check the engine (`medqa models plan`, the "
                    "server log) or raise models.request_timeout_s.",
                    partial_text="".join(partial),
                ) from None
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            partial.append(item.text)
            yield item
    finally:
        stop.set()


class ReplicaSet(Backend):
    """One backbone served by several engines; each request goes to the least busy."""

    def __init__(self, replicas: Sequence[Backend], cooldown_s: float = 30.0) -> None:
        if not replicas:
            raise ValueError("a ReplicaSet needs at least one replica")
        self.replicas = list(replicas)
        self.name, self.family = replicas[0].name, replicas[0].family
        self.cooldown_s = cooldown_s
        self.outstanding = [0] * len(replicas)
        self._down_until = [0.0] * len(replicas)
        self._last_pick = [0] * len(replicas)
        self._picks = 0
        self._lock = threading.Lock()

    # ---- balancing ----
    def _acquire(self, exclude: set[int]) -> int | None:
        """Index of the healthy replica with the fewest requests in flight (ties: least
        recently used), counted as busy from now on; None when every one was tried."""
        now = time.monotonic()
        with self._lock:
            left = [i for i in range(len(self.replicas)) if i not in exclude]
            if not left:
                return None
            healthy = [i for i in left if self._down_until[i] <= now] or left
            i = min(healthy, key=lambda j: (self.outstanding[j], self._last_pick[j]))
            self._picks += 1
            self.outstanding[i] += 1
            self._last_pick[i] = self._picks
            return i

    def _release(self, i: int, failed: bool) -> None:
        with self._lock:
            self.outstanding[i] -= 1
            self._down_until[i] = time.monotonic() + self.cooldown_s if failed else 0.0

    def healthy(self) -> list[bool]:
        """Per replica: not marked down after a recent failure."""
        now = time.monotonic()
        return [t <= now for t in self._down_until]

    # ---- Backend ----
    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        """Stream from the least busy replica; before the first token, fail over to the next."""
        tried: set[int] = set()
        errors: list[Exception] = []
        while (i := self._acquire(tried)) is not None:
            tried.add(i)
            b = self.replicas[i]
            started, text = False, []
            failed = True
            try:
                for d in guarded(b.chat(messages, params), params.timeout_s, b.name):
                    started = started or bool(d.text or d.reasoning)
                    text.append(d.text)
                    yield d
                failed = False
                return
            except GeneratorExit:
                failed = False  # the caller stopped reading; the replica is fine
                raise
            except Exception as e:
                if started:  # the caller has shown tokens: a restart elsewhere would garble
                    raise _broken(b.name, i, e, "".join(text)) from e
                errors.append(e)
            finally:
                self._release(i, failed)
        raise _all_failed(self.name, errors)

    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        """Scores from the least busy replica, failing over on error."""
        tried: set[int] = set()
        errors: list[Exception] = []
        while (i := self._acquire(tried)) is not None:
            tried.add(i)
            failed = True
            try:
                out = self.replicas[i].score_options(prompt, options)
                failed = False
                return out
            except Exception as e:
                errors.append(e)
            finally:
                self._release(i, failed)
        raise _all_failed(self.name, errors)

    def close(self) -> None:
        for b in self.replicas:
            b.close()


def _broken(name: str, i: int, e: Exception, partial: str) -> BackendUnavailable:
    """The error for a stream cut off after text was shown: it keeps that text."""
    if isinstance(e, BackendUnavailable):
        e.partial_text = e.partial_text or partial
        return e
    hint = e.hint if isinstance(e, MedQAError) else "Ask again; another replica will answer."
    return BackendUnavailable(
        f"Replica {i} of {name} failed mid-answer ({type(e).__name__}: {e}).",
        hint,
        partial_text=partial,
    )


def _all_failed(name: str, errors: list[Exception]) -> Exception:
    """One replica: its own error (it says how to fix it). Several: all of them."""
    if len(errors) == 1:
        return errors[0]
    return BackendUnavailable(
        f"Every replica of {name} failed: "
        + "; ".join(f"replica {i}: {e}" for i, e in enumerate(errors)) + ".",
        "Check the engines (`medqa models plan`; for vLLM servers, their logs) and retry.",
    )


def build_backend(name: str, settings: Settings, engine: str | None = None) -> Backend:
    """The Backend for backbone `name`: models.replicas engines behind one ReplicaSet.

    Even one replica goes behind a ReplicaSet, for its deadline: no engine can hang a caller.
    """
    n = max(1, int(getattr(settings.models, "replicas", 1) or 1))
    return ReplicaSet([get_backend(name, settings, engine) for _ in range(n)])
