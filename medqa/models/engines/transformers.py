"""transformers in-process on GGUF weights (dequantised): slow on a CPU, the reference
the fast engines are checked against."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any, Iterator

from medqa.config import Settings
from medqa.errors import ConfigError
from medqa.models.engines.chat_format import (
    Deadline,
    LocalBackend,
    Reply,
    log_softmax,
)
from medqa.models.registry import register_engine
from medqa.types import Delta, GenParams


_STAMP = "medqa-gguf-stamp.txt"


class TransformersBackend(LocalBackend):
    """A GGUF model loaded by transformers (gguf_file=), greedy by default, one lock."""

    def __init__(
        self,
        path: str | Path,
        name: str,
        family: str = "unknown",
        n_threads: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:  # pragma: no cover - both are core dependencies
            raise ConfigError("transformers/torch are not installed.", "pip install -e .") from e
        path = Path(path)
        self.name, self.family, self.path = name, family, path
        if n_threads:
            torch.set_num_threads(n_threads)
        # Reading GGUF means rebuilding the tokenizer and dequantising every tensor in
        # Python (minutes on a busy CPU): keep an fp32 safetensors copy, keyed by the file.
        stamp = f"{path.stat().st_size}:{path.stat().st_mtime_ns}"
        if cache_dir and (cache_dir / _STAMP).is_file() and \
                (cache_dir / _STAMP).read_text() == stamp:
            src: dict[str, Any] = {"pretrained_model_name_or_path": cache_dir}
        else:
            src = {"pretrained_model_name_or_path": path.parent, "gguf_file": path.name}
        self._tok = AutoTokenizer.from_pretrained(**src)
        self._model = AutoModelForCausalLM.from_pretrained(**src, dtype=torch.float32).eval()
        if cache_dir and "gguf_file" in src:
            self._save_cache(cache_dir, stamp)
        self._template = self._tok.chat_template
        self._bos, self._eos = self._tok.bos_token or "", self._tok.eos_token or ""
        self._eos_ids = {i for i in (self._tok.eos_token_id,
                                     getattr(self._model.generation_config, "eos_token_id", None))
                         if isinstance(i, int)}
        gen_eos = getattr(self._model.generation_config, "eos_token_id", None)
        if isinstance(gen_eos, list):
            self._eos_ids.update(gen_eos)
        self._lock = threading.Lock()

    def _save_cache(self, cache_dir: Path, stamp: str) -> None:
        # The tensors are already dequantised; transformers only refuses because the
        # config still names the GGUF quantiser.
        self._model.hf_quantizer = None
        if hasattr(self._model.config, "quantization_config"):
            del self._model.config.quantization_config
        tmp = cache_dir.with_name(cache_dir.name + ".tmp")
        try:
            self._model.save_pretrained(tmp)
            self._tok.save_pretrained(tmp)
            (tmp / _STAMP).write_text(stamp)
            shutil.rmtree(cache_dir, ignore_errors=True)
            os.replace(tmp, cache_dir)
        except OSError:  # a read-only models dir only costs the next load time
            shutil.rmtree(tmp, ignore_errors=True)

    def _encode(self, text: str, add_bos: bool) -> list[int]:
        return list(self._tok(text, add_special_tokens=add_bos)["input_ids"])

    def _generate(
        self, ids: list[int], params: GenParams, deadline: Deadline, think: bool
    ) -> Iterator[Delta]:
        import torch

        gen = torch.Generator().manual_seed(params.seed or 0)
        reply = Reply(params.stop, think)
        out: list[int] = []
        shown, finish = "", "length"
        past: Any = None
        step = torch.tensor([ids])
        with torch.inference_mode():
            while len(out) < params.max_tokens:
                res = self._model(input_ids=step, past_key_values=past, use_cache=True)
                past = res.past_key_values
                tok = _pick(res.logits[0, -1], params, gen)
                if tok in self._eos_ids:
                    finish = "stop"
                    break
                out.append(tok)
                step = torch.tensor([[tok]])
                text = self._tok.decode(out, skip_special_tokens=True)
                if text.endswith("\ufffd"):  # half a multi-byte character: wait for the rest
                    continue
                new, shown = text[len(shown):], text
                yield from reply.feed(new)
                if reply.stopped:
                    finish = "stop"
                    break
                deadline.check(reply.partial)
        yield from reply.close()
        yield Delta(finish_reason=finish, prompt_tokens=len(ids), completion_tokens=len(out))

    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        """Log-prob of each option after `prompt`; one forward pass for one-token options."""
        import torch

        if not options:
            return []
        context, conts = self.continuations(prompt, options)
        with self._lock, torch.inference_mode():
            if all(len(c) == 1 for c in conts):  # letters: one pass over the context,
                # logits for its last position only (all of them: tokens x vocabulary floats)
                row = log_softmax(self._model(input_ids=torch.tensor([context]), logits_to_keep=1)
                                  .logits[0, -1].float().numpy())
                return [float(row[c[0]]) for c in conts]
            # Otherwise one batched pass over context+option, right-padded: causal
            # attention keeps the padding from touching any position that is read.
            width = len(context) + max(len(c) for c in conts)
            ids = torch.zeros((len(conts), width), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for i, c in enumerate(conts):
                seq = context + c
                ids[i, : len(seq)], mask[i, : len(seq)] = torch.tensor(seq), 1
            logp = torch.log_softmax(
                self._model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
            return [
                float(sum(logp[i, len(context) + j - 1, t] for j, t in enumerate(c)))
                for i, c in enumerate(conts)
            ]

    def close(self) -> None:
        """Drop the model (freed when no request still holds it)."""
        with self._lock:
            self._model = None


def _pick(logits: Any, params: GenParams, gen: Any) -> int:
    """Greedy at temperature 0; else temperature and top-p sampling, seeded."""
    import torch

    if params.temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_p, idx = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_p, -1) - sorted_p < params.top_p
        probs = torch.zeros_like(probs).scatter(0, idx[keep], sorted_p[keep])
    return int(torch.multinomial(probs / probs.sum(), 1, generator=gen))


def build(name: str, settings: Settings) -> TransformersBackend:
    """The engine factory: the packaged GGUF of `name`, sha256-checked, on transformers."""
    from medqa.models.manifest import backbone
    from medqa.models.packaged import weights_path

    return TransformersBackend(
        weights_path(name, settings),
        name=name,
        family=backbone(name).family,
        n_threads=settings.models.n_threads,
        cache_dir=settings.models_dir / f"{name}-hf-fp32",
    )


register_engine("transformers", build)
