"""The fast MiniLM path: the packaged weights converted once to a fused, int8 ONNX model.

The conversion (torch export -> onnxruntime's BERT fusions -> dynamic int8 quantization,
weights per channel) runs at first use and is cached under `models_dir/embeddings`,
keyed by a hash of the source weights and of the recipe. Files are written to a
temporary name and renamed, and a sidecar records the model's sha256, so a build killed
half-way or a damaged file is detected and rebuilt, never loaded.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from medqa.data import sha256_file
from medqa.retrieval.embeddings import CHUNK_MAX_TOKENS, Embedder
from medqa.storage import atomic_write_text

# Bump when the conversion changes: old cache files are then ignored, not loaded.
RECIPE = "minilm-eager-bertfuse-noskipln-int8pc-s7-v2"
# onnxruntime's fused SkipLayerNormalization CPU kernel is slower here than the Add +
# LayerNormalization it replaces (128-token chunks: 15.4 vs 12.8 CPU ms with it re-fused
# at load): the fusion is left out here and disabled in the session.
UNFUSED = ["SkipLayerNormFusion"]
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)


def source_key(model_dir: Path) -> str:
    """A short key naming the source weights and the recipe (the cache file's name)."""
    import onnxruntime

    weights = sha256_file(model_dir / "model.safetensors")
    return hashlib.sha256(f"{weights}:{RECIPE}:{onnxruntime.__version__}".encode()).hexdigest()[:16]


@contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    # Two processes starting at once (app + ingest) must not both build the same file.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _cache_ok(model: Path, meta: Path) -> bool:
    try:
        recorded = json.loads(meta.read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return model.is_file() and sha256_file(model) == recorded


def _export_fp32(model_dir: Path, out: Path) -> None:
    """Torch -> ONNX: BERT + mean pooling + L2 normalisation, dynamic batch and length."""
    import torch
    from transformers import AutoModel

    # Eager attention exports the pattern onnxruntime's fusion recognises (SDPA does not).
    bert = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self, m: torch.nn.Module) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            h = self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(h.dtype)
            v = (h * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(v, dim=-1)

    ids = torch.ones(2, 16, dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
            "embedding": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(Pooled(bert), (ids, ids.clone()), str(out), dynamo=False,
                          input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], dynamic_axes=axes, opset_version=17)


def build_onnx(model_dir: Path, target: Path) -> None:
    """Convert the packaged MiniLM into the fused int8 model at `target` (atomically)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        fp32, fused, q = Path(tmp, "fp32.onnx"), Path(tmp, "fused.onnx"), Path(tmp, "int8.onnx")
        _export_fp32(model_dir, fp32)
        cfg = json.loads((model_dir / "config.json").read_text())
        fusions = FusionOptions("bert")
        fusions.enable_skip_layer_norm = False
        opt = optimize_model(str(fp32), model_type="bert", opt_level=0,
                             num_heads=int(cfg["num_attention_heads"]),
                             hidden_size=int(cfg["hidden_size"]),
                             optimization_options=fusions)
        opt.save_model_to_file(str(fused))
        # Per-channel signed weights in +-64 (reduce_range) on MatMul + fused Attention: u8
        # activations x s8 weights is AVX2's fast kernel (vpmaddubsw), and the short range
        # keeps its int16 pair sums from saturating (255 * 64 * 2 < 32768; full s8 weights
        # would overflow). With the SkipLayerNorm change: 24.1 -> 13.8 CPU ms per 128-token
        # chunk against v1's u8 weights; cosine to the fp32 reference 0.9936 mean (v1
        # 0.9949). Quantizing the embedding Gather cost accuracy.
        quantize_dynamic(str(fused), str(q), weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=True, op_types_to_quantize=["MatMul", "Attention"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        with open(q, "rb+") as f:
            os.fsync(f.fileno())
        digest = sha256_file(q)
        os.replace(q, target)
    atomic_write_text(target.with_suffix(".json"),
                       json.dumps({"sha256": digest, "recipe": RECIPE, "source": str(model_dir)}))


def ensure_onnx(model_dir: Path, cache_dir: Path) -> Path:
    """The cached fused int8 model for `model_dir`, built (or rebuilt if damaged) as needed."""
    target = cache_dir / f"minilm-{source_key(model_dir)}.onnx"
    meta = target.with_suffix(".json")
    if _cache_ok(target, meta):
        return target
    with _build_lock(target):
        if not _cache_ok(target, meta):  # another process may have built it meanwhile
            meta.unlink(missing_ok=True)
            for stale in cache_dir.glob(".build-*"):  # left by a killed build; we hold the lock
                shutil.rmtree(stale, ignore_errors=True)
            build_onnx(model_dir, target)
    return target


class OnnxEmbedder(Embedder):
    """MiniLM in onnxruntime, int8, with length-bucketed batches and a low-latency query path."""

    def __init__(self, name: str, model_dir: Path, cache_dir: Path,
                 threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name, self.dim = name, int(json.loads((model_dir / "config.json").read_text())["hidden_size"])
        self.version = f"onnx:{RECIPE}"
        self.model_path = ensure_onnx(model_dir, cache_dir)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.chunk_max_tokens = min(CHUNK_MAX_TOKENS, MAX_TOKENS)
        self.tokenizer.no_padding()  # we pad each length bucket ourselves
        threads = threads or min(os.cpu_count() or 1, 4)

        def session(n: int) -> "ort.InferenceSession":
            so = ort.SessionOptions()
            so.intra_op_num_threads, so.inter_op_num_threads = n, 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # Spinning threads burn CPU that the rest of the pipeline (and, on a shared
            # machine, everyone else) needs; measured no faster here with it on.
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            return ort.InferenceSession(str(self.model_path), so,
                                        providers=["CPUExecutionProvider"],
                                        disabled_optimizers=UNFUSED)

        self._batch = session(threads)
        # A single query is ~10 tokens: one thread avoids the cost of waking a pool.
        self._query = session(1)

    def _run(self, sess: object, ids: list[list[int]]) -> np.ndarray:
        width = max(len(x) for x in ids)
        arr = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            arr[i, : len(row)] = row
            mask[i, : len(row)] = 1
        out = sess.run(None, {"input_ids": arr, "attention_mask": mask})[0]  # type: ignore[attr-defined]
        return np.asarray(out, dtype=np.float32)

    def embed_documents(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self._embed(texts, batch_size, MAX_TOKENS)

    def embed_chunks(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self._embed(texts, batch_size, self.chunk_max_tokens)

    def _embed(self, texts: list[str], batch_size: int, max_tokens: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Identical chunks (boilerplate, twin documents) are embedded once.
        unique = list(dict.fromkeys(texts))
        ids = self.token_ids(unique, max_tokens)
        # Length buckets: sort by token count so a batch pads to its own longest text.
        order = sorted(range(len(unique)), key=lambda i: len(ids[i]))
        vecs = np.zeros((len(unique), self.dim), dtype=np.float32)
        step = max(1, batch_size)
        for start in range(0, len(order), step):
            idx = order[start : start + step]
            vecs[idx] = self._run(self._batch, [ids[i] for i in idx])
        where = {t: i for i, t in enumerate(unique)}
        out[:] = vecs[[where[t] for t in texts]]
        return out

    def token_ids(self, texts: list[str], max_tokens: int = MAX_TOKENS) -> list[list[int]]:
        """Token ids of each text, cut at max_tokens as the tokenizer cuts: [CLS], the
        first wordpieces, [SEP] (the tests hold them against sentence-transformers')."""
        ids = [e.ids for e in self.tokenizer.encode_batch(texts)]  # cut at MAX_TOKENS
        return [x if len(x) <= max_tokens else x[:max_tokens - 1] + x[-1:] for x in ids]

    def embed_query(self, text: str) -> np.ndarray:
        ids = self.tokenizer.encode(text).ids
        return self._run(self._query, [ids])[0]
