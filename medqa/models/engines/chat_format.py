"""Shared by the in-process engines: the model's own chat template, <think> splitting,
incremental UTF-8 decoding and per-request deadlines."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Iterator

from medqa.errors import BackendUnavailable
from medqa.models.base import Backend
from medqa.types import Delta, GenParams, Message

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"

# Used only when a model file carries no template of its own (base models such as Gemma-3
# 270M): plain ChatML, which every tokenizer can at least read as text.
FALLBACK_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@lru_cache(maxsize=16)
def _compile(template: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(msg: str) -> None:
        raise ValueError(msg)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals.update(
        raise_exception=raise_exception,
        strftime_now=lambda fmt: time.strftime(fmt),
    )
    return env.from_string(template)


def render_chat(
    template: str | None,
    messages: Iterable[Message],
    bos_token: str = "",
    eos_token: str = "",
    reasoning: bool = False,
) -> str:
    """The prompt text the model was trained on: its own Jinja chat template, rendered."""
    msgs = [{"role": m.role, "content": m.content} for m in messages]
    return _compile(template or FALLBACK_TEMPLATE).render(
        messages=msgs,
        bos_token=bos_token,
        eos_token=eos_token,
        add_generation_prompt=True,
        enable_thinking=reasoning,  # Qwen3's switch; other templates ignore it
    )


def opens_in_think(prompt: str) -> bool:
    """True when the template itself opened a <think> block (DeepSeek-R1 style)."""
    return prompt.rstrip().endswith(THINK_OPEN)


@dataclass
class ThinkSplitter:
    """Streams text into (reasoning, answer) pieces, even when a tag is split across chunks."""

    in_think: bool = False
    _buf: str = ""

    def feed(self, chunk: str) -> list[tuple[str, str]]:
        """Pieces ready to emit, each ("reasoning" | "text", str)."""
        self._buf += chunk
        out: list[tuple[str, str]] = []
        while self._buf:
            tag = THINK_CLOSE if self.in_think else THINK_OPEN
            kind = "reasoning" if self.in_think else "text"
            i = self._buf.find(tag)
            if i >= 0:
                if i:
                    out.append((kind, self._buf[:i]))
                self._buf = self._buf[i + len(tag):]
                self.in_think = not self.in_think
                continue
            # Hold back a tail that could be the start of a tag still arriving.
            keep = next((k for k in range(min(len(tag) - 1, len(self._buf)), 0, -1)
                         if tag.startswith(self._buf[-k:])), 0)
            ready, self._buf = self._buf[: len(self._buf) - keep], self._buf[len(self._buf) - keep:]
            if ready:
                out.append((kind, ready))
            break
        return out

    def flush(self) -> list[tuple[str, str]]:
        """Whatever is still held back, at the end of the stream."""
        rest, self._buf = self._buf, ""
        return [("reasoning" if self.in_think else "text", rest)] if rest else []


class Utf8Stream:
    """Turns token bytes into text without splitting a multi-byte character."""

    def __init__(self) -> None:
        import codecs

        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        return self._dec.decode(data)

    def flush(self) -> str:
        return self._dec.decode(b"", final=True)


class StopMatcher:
    """Cuts the stream at the first stop string, holding back text that may begin one."""

    def __init__(self, stops: Iterable[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self._buf = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if not self.stops:
            return text
        self._buf += text
        hits = [i for i in (self._buf.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped = True
            out, self._buf = self._buf[: min(hits)], ""
            return out
        keep = max((k for s in self.stops for k in range(min(len(s) - 1, len(self._buf)), 0, -1)
                    if s.startswith(self._buf[-k:])), default=0)
        out, self._buf = self._buf[: len(self._buf) - keep], self._buf[len(self._buf) - keep:]
        return out

    def flush(self) -> str:
        out, self._buf = self._buf, ""
        return out


class Deadline:
    """A per-request time limit that in-process loops check between tokens."""

    def __init__(self, timeout_s: float, backend: str) -> None:
        self.end = time.monotonic() + timeout_s
        self.timeout_s, self.backend = timeout_s, backend

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def check(self, partial: str = "") -> None:
        if time.monotonic() > self.end:
            raise BackendUnavailable(
                f"{self.backend} did not finish within {self.timeout_s:.0f} s.",
                "Ask a shorter question, raise models.request_timeout_s, or use a faster "
                "backbone (see `medqa models plan`).",
                partial_text=partial,
            )


def log_softmax(row: Any) -> Any:
    """Numerically stable log-softmax of one row of logits (numpy)."""
    import numpy as np

    row = np.asarray(row, dtype=np.float64)
    m = row.max()
    return row - (m + np.log(np.exp(row - m).sum()))


def split_trailing_space(prompt: str, option: str) -> tuple[str, str]:
    """Move the prompt's trailing spaces onto the option, as tokenizers glue ' A' together."""
    stripped = prompt.rstrip(" ")
    return stripped, prompt[len(stripped):] + option


class Reply:
    """Decoded text in, Deltas out: stop strings cut, <think> split off, answer kept."""

    def __init__(self, stops: Iterable[str], think: bool) -> None:
        self._stop, self._split = StopMatcher(stops), ThinkSplitter(in_think=think)
        self._text: list[str] = []

    @property
    def stopped(self) -> bool:
        return self._stop.stopped

    @property
    def partial(self) -> str:
        """The answer text so far (what an error carries)."""
        return "".join(self._text)

    def feed(self, text: str) -> list[Delta]:
        return self._deltas(self._split.feed(self._stop.feed(text)))

    def close(self, tail: str = "") -> list[Delta]:
        """Whatever was held back, at the end of the stream."""
        rest = "" if self.stopped else self._stop.feed(tail) + self._stop.flush()
        return self._deltas(self._split.feed(rest) + self._split.flush())

    def _deltas(self, pieces: list[tuple[str, str]]) -> list[Delta]:
        self._text += [p for kind, p in pieces if kind == "text"]
        return [Delta(text=p) if kind == "text" else Delta(reasoning=p) for kind, p in pieces]


class LocalBackend(Backend):
    """What the in-process engines share: the model's template, BOS handling, one lock per
    model, the deadline, and how options become continuation tokens."""

    _template: str | None = None
    _bos: str = ""
    _eos: str = ""
    _lock: threading.Lock

    def _encode(self, text: str, add_bos: bool) -> list[int]:
        """Token ids of text; special tokens written in it are parsed as such."""
        raise NotImplementedError

    def _generate(
        self, tokens: list[int], params: GenParams, deadline: Deadline, think: bool
    ) -> Iterator[Delta]:
        raise NotImplementedError

    def _context_size(self) -> int | None:
        return None

    def render(self, messages: list[Message], reasoning: bool = False) -> str:
        """The chat rendered with the model's own template (from the GGUF metadata)."""
        return render_chat(self._template, messages, self._bos, self._eos, reasoning)

    def tokenize(self, text: str) -> list[int]:
        """Token ids, with BOS only where the model asks for it and the text lacks it."""
        # Templates write the BOS themselves; adding another would double it.
        return self._encode(text, add_bos=not (self._bos and text.startswith(self._bos)))

    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        """Stream a reply (greedy unless temperature > 0); the deadline covers the queue."""
        deadline = Deadline(params.timeout_s, self.name)
        prompt = self.render(messages, params.reasoning)
        tokens = self.tokenize(prompt)
        n_ctx = self._context_size()
        if n_ctx is not None and len(tokens) + 1 >= n_ctx:
            raise BackendUnavailable(
                f"The prompt ({len(tokens)} tokens) does not fit {self.name}'s context "
                f"of {n_ctx} tokens.",
                "Ask a shorter question or raise models.n_ctx.",
            )
        if not self._lock.acquire(timeout=deadline.remaining()):
            raise BackendUnavailable(
                f"{self.name} stayed busy with other requests for {params.timeout_s:.0f} s.",
                "Add replicas (models.replicas) or raise models.request_timeout_s.",
            )
        try:
            yield from self._generate(tokens, params, deadline, opens_in_think(prompt))
        finally:
            self._lock.release()

    def continuations(self, prompt: str, options: list[str]) -> tuple[list[int], list[list[int]]]:
        """The context's tokens and each option's tokens as they follow that context."""
        pairs = [split_trailing_space(prompt, o) for o in options]
        context = self.tokenize(pairs[0][0])
        conts = []
        for ctx_text, opt in pairs:
            whole = self.tokenize(ctx_text + opt)
            if whole[: len(context)] == context and len(whole) > len(context):
                conts.append(whole[len(context):])
            else:  # the option merged into the context's last token: score it alone
                conts.append(self._encode(opt, add_bos=False))
        return context, conts
