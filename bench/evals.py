"""Evaluation throughput in one run: questions/s for option scoring vs chain-of-thought
generation, each sequential and with several questions in flight (threads).

    nice -n 5 .venv/bin/python bench/evals.py --backbone smollm2-135m-instruct --n 8

Against an in-process engine (llama.cpp) the threads share one model behind one lock, so
concurrency only overlaps prompt building and retrieval; against a server engine (vLLM,
--engine vllm) the requests in flight are batched by the server. Ratios are against option
scoring, sequential, measured in the same run (the machine may be shared: absolute numbers drift).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from medqa.config import load_settings
from medqa.evals.datasets import load_items
from medqa.evals.runner import Answerer, RunConfig, run
from medqa.evals.suite import BackendPool


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backbone", default="smollm2-135m-instruct")
    ap.add_argument("--engine", default=None, help="default: settings.models.engine")
    ap.add_argument("--set", default="mirage_subset_1000")
    ap.add_argument("--n", type=int, default=8, help="questions (spread over the tasks)")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=96, help="generation budget in cot mode")
    args = ap.parse_args()

    settings = load_settings()
    engine = args.engine or settings.models.engine
    items = load_items(args.set, settings=settings)
    tasks = sorted({it.task for it in items})
    per = max(1, -(-args.n // len(tasks)))
    items = load_items(args.set, limit=per, settings=settings)[: args.n]
    pool = BackendPool(settings, engine)
    t0 = time.perf_counter()
    backend = pool(args.backbone)
    load_s = time.perf_counter() - t0
    # One warm-up question per mode, so neither pays the first-call costs inside its timing.
    warm = load_items(args.set, limit=1, settings=settings)[-1:]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("score", "cot"):
            cfg = RunConfig(dataset=args.set, backbone=args.backbone, engine=engine, mode=mode,
                            max_tokens=args.max_tokens)
            answer = Answerer(cfg, pool)
            run(cfg, warm, answer, Path(tmp) / f"warm-{mode}", progress=False)
            for conc in (1, args.concurrency):
                t = time.perf_counter()
                st = run(cfg, items, answer, Path(tmp) / f"{mode}-{conc}", concurrency=conc, progress=False)
                dt = time.perf_counter() - t
                toks = sum(r.completion_tokens or 0 for r in st.rows)
                rows.append((mode, conc, len(st.rows), dt, sum(r.correct for r in st.rows), toks))
    pool.close()
    base = rows[0][2] / rows[0][3]
    print(f"backbone {args.backbone} on {engine} (loaded in {load_s:.1f} s); {len(items)} questions of "
          f"{args.set}; cot max_tokens={args.max_tokens}; {type(backend).__name__}")
    print(f"{'mode':<6} {'in flight':>9} {'questions':>9} {'seconds':>8} {'q/s':>7} {'vs score seq':>12} "
          f"{'correct':>7} {'gen tokens':>10}")
    for mode, conc, n, dt, right, toks in rows:
        qps = n / dt
        print(f"{mode:<6} {conc:>9} {n:>9} {dt:>8.2f} {qps:>7.3f} {qps / base:>11.2f}x {right:>7} {toks:>10}")


if __name__ == "__main__":
    main()
