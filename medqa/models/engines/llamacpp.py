"""llama.cpp in-process (llama-cpp-python): the fast embedded default for GGUF on CPUs."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Iterator, Sequence

from medqa.config import Settings
from medqa.errors import ConfigError
from medqa.models.engines.chat_format import (
    Deadline,
    LocalBackend,
    Reply,
    Utf8Stream,
    log_softmax,
)
from medqa.models.registry import register_engine
from medqa.types import Delta, GenParams


def physical_cores() -> int:
    """Physical CPU cores (hyper-threads share the memory bus and slow llama.cpp down)."""
    try:
        import psutil

        return psutil.cpu_count(logical=False) or os.cpu_count() or 1
    except ImportError:  # psutil is a dependency, but never let a count stop a model
        return os.cpu_count() or 1


def default_threads() -> int:
    """Physical cores not already busy (load average), at least one.

    llama.cpp's threads spin at a barrier after every layer: on an oversubscribed CPU one
    preempted thread stalls the rest (measured here: 2 threads on 2 busy cores decoded 18x
    slower than 1 thread). models.n_threads overrides this.
    """
    cores = physical_cores()
    try:
        busy = int(os.getloadavg()[0])
    except OSError:
        busy = 0
    return max(1, min(cores, cores - busy + 1))


class LlamaCppBackend(LocalBackend):
    """One GGUF model on one llama.cpp context; calls are serialised by one lock."""

    def __init__(
        self,
        path: str | Path,
        name: str,
        family: str = "unknown",
        n_ctx: int = 4096,
        n_threads: int | None = None,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise ConfigError(
                "llama.cpp is not installed.",
                "pip install -e '.[llamacpp]' (a prebuilt wheel may be in ../shared/wheels: "
                "add --find-links ../shared/wheels).",
            ) from e
        self.name, self.family, self.path = name, family, Path(path)
        self.n_threads = n_threads or default_threads()
        self._llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            verbose=False,
        )
        md = self._llm.metadata
        self._template = md.get("tokenizer.chat_template")
        self._bos = self._piece(self._llm.token_bos())
        self._eos = self._piece(self._llm.token_eos())
        self._eos_ids = {self._llm.token_eos()}
        eot = md.get("tokenizer.ggml.eot_token_id")
        if eot is not None:
            self._eos_ids.add(int(eot))
        # llama.cpp keeps the KV of the last prompt; a stable system prefix is reused.
        self.last_cached_tokens = 0  # prompt tokens the last chat found in the KV cache
        self._lock = threading.Lock()

    def _piece(self, tok: int) -> str:
        if tok < 0:
            return ""
        return self._llm.detokenize([tok], special=True).decode("utf-8", "ignore")

    def _encode(self, text: str, add_bos: bool) -> list[int]:
        # add_bos only adds one where the GGUF's tokenizer.ggml.add_bos_token says so.
        return self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def _context_size(self) -> int:
        return self._llm.n_ctx()

    def _generate(
        self, tokens: list[int], params: GenParams, deadline: Deadline, think: bool
    ) -> Iterator[Delta]:
        llm = self._llm
        if params.seed is not None:
            llm.set_seed(params.seed)
        # What generate() will find already in the KV cache (its own prefix match).
        self.last_cached_tokens = _common_prefix(llm.input_ids[: llm.n_tokens], tokens)
        utf8, reply = Utf8Stream(), Reply(params.stop, think)
        n_out, finish = 0, "length"
        room = llm.n_ctx() - len(tokens) - 1
        gen = llm.generate(
            tokens,
            temp=params.temperature,
            top_p=params.top_p,
            top_k=0 if params.temperature > 0 else 40,
            min_p=0.0,
            repeat_penalty=1.0,
        )
        try:
            for tok in gen:
                if tok in self._eos_ids:
                    finish = "stop"
                    break
                n_out += 1
                yield from reply.feed(utf8.feed(llm.detokenize([tok])))
                if reply.stopped:
                    finish = "stop"
                    break
                if n_out >= min(params.max_tokens, room):
                    break
                deadline.check(reply.partial)
        finally:
            gen.close()
        yield from reply.close(utf8.flush())
        yield Delta(finish_reason=finish, prompt_tokens=len(tokens), completion_tokens=n_out)

    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        """Log-prob of each option after `prompt`: the prompt is evaluated once; options
        that are one token each (letters) are all read from that one pass."""
        if not options:
            return []
        with self._lock:
            return self._score(prompt, options)

    def _score(self, prompt: str, options: list[str]) -> list[float]:
        import numpy as np

        llm = self._llm
        context, conts = self.continuations(prompt, options)
        self._eval_prefix(context)
        n_vocab = llm.n_vocab()
        first = log_softmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(n_vocab,)))
        scores = []
        for cont in conts:
            lp = float(first[cont[0]])
            if len(cont) > 1:
                # One more pass per multi-token option, logits for each of its positions.
                lp += self._continuation_logprob(len(context), cont)
            scores.append(lp)
        return scores

    def _eval_prefix(self, tokens: list[int]) -> None:
        """Evaluate tokens, reusing the KV cache of the longest prefix already there."""
        llm = self._llm
        same = min(_common_prefix(llm.input_ids[: llm.n_tokens], tokens), len(tokens) - 1)  # at least one token, to refresh the logits
        llm.n_tokens = same
        llm._ctx.kv_cache_seq_rm(-1, same, -1)
        llm.eval(tokens[same:])

    def _continuation_logprob(self, n_ctx_tokens: int, cont: list[int]) -> float:
        import numpy as np

        llm = self._llm
        n_vocab = llm.n_vocab()
        llm._ctx.kv_cache_seq_rm(-1, n_ctx_tokens, -1)
        llm._batch.set_batch(batch=cont[:-1], n_past=n_ctx_tokens, logits_all=True)
        llm._ctx.decode(llm._batch)
        rows = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=((len(cont) - 1) * n_vocab,))
        rows = rows.reshape(len(cont) - 1, n_vocab)
        total = sum(float(log_softmax(rows[i])[cont[i + 1]]) for i in range(len(cont) - 1))
        # Leave the cache holding the context alone, as the generate() bookkeeping expects.
        llm._ctx.kv_cache_seq_rm(-1, n_ctx_tokens, -1)
        llm.n_tokens = n_ctx_tokens
        llm._requires_eval = True  # the logits held now are the option's, not the context's
        return total

    def close(self) -> None:
        """Free the model and its context."""
        with self._lock:
            llm, self._llm = self._llm, None
            if llm is not None:
                llm.close()


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def build(name: str, settings: Settings) -> LlamaCppBackend:
    """The engine factory: the packaged GGUF of `name`, sha256-checked, on llama.cpp."""
    from medqa.models.manifest import backbone
    from medqa.models.packaged import weights_path

    t0 = time.perf_counter()
    path = weights_path(name, settings)
    b = LlamaCppBackend(
        path,
        name=name,
        family=backbone(name).family,
        n_ctx=settings.models.n_ctx,
        n_threads=settings.models.n_threads,
    )
    b.load_s = time.perf_counter() - t0  # type: ignore[attr-defined]
    return b


register_engine("llamacpp", build)
