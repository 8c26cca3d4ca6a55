"""Router decision overhead (no model calls): p50/p99 per question over real questions.

    MEDQA_DATA_DIR=../shared/data nice -n 5 .venv/bin/python bench/router.py [--n 5000] [--router DIR]

Questions: a seeded sample from mirage + cmmlu_medical + medquad_retrieval_dev. Rows:
  baseline        detect_lang alone (the cheapest thing any router does), for ratios
  signal          SignalRouter.route
  learned-signals LearnedRouter.route on signal features only (no embedding)
  learned+cached  LearnedRouter.route with MiniLM features, embedding already cached
  embed (single)  one uncached MiniLM embedding (what a new question adds to the above)
Without --router, the learned router gets random weights of the trained shape (4 arms):
its decision cost depends on the shapes, not the values.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np

from medqa.config import load_settings
from medqa.data import resolve
from medqa.lang import detect_lang
from medqa.routing.learned import Featurizer, LearnedRouter
from medqa.routing.outcomes import Arm
from medqa.routing.signal_router import SignalRouter
from medqa.routing.signals import FEATURE_NAMES
from medqa.types import Question


def questions(n: int, seed: int = 0) -> list[Question]:
    """A seeded sample of real questions from three evaluation sets (en and zh)."""
    s = load_settings()
    out: list[Question] = []
    mirage = json.loads(resolve("mirage", s).read_text(encoding="utf-8"))
    for task in sorted(mirage):
        out += [Question(v["question"], v["options"]) for _, v in sorted(mirage[task].items())]
    for name in ("cmmlu_medical", "medquad_retrieval_dev"):
        for line in resolve(name, s).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            out.append(Question(row["question"], row.get("options")))
    random.Random(seed).shuffle(out)
    return out[:n]


def timed(fn, qs: list[Question]) -> np.ndarray:
    """Per-call (wall, thread CPU) seconds of fn(q) for each q (one warm-up call first).

    CPU time leaves out the waits a shared machine's scheduler adds, which dominate the
    wall-clock p99 when other processes hold the cores.
    """
    fn(qs[0])
    t = np.empty((len(qs), 2))
    for i, q in enumerate(qs):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn(q)
        t[i] = time.perf_counter() - t0, time.thread_time() - c0
    return t


def random_router(embedder: str | None, n_arms: int = 4, seed: int = 0) -> LearnedRouter:
    d = len(FEATURE_NAMES) + (384 if embedder else 0)
    rng = np.random.default_rng(seed)
    arms = [Arm(f"backbone-{i}", bool(i % 2), False) for i in range(n_arms)]
    return LearnedRouter(arms=arms, coef=rng.normal(size=(n_arms, d)), intercept=rng.normal(size=n_arms),
                         mean=np.zeros(d), scale=np.ones(d), cost=rng.uniform(1, 10, n_arms),
                         accuracy=rng.uniform(0.3, 0.7, n_arms), lam=0.2, embedder=embedder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="questions for the no-embedding rows")
    ap.add_argument("--embed-n", type=int, default=200, help="questions for the embedding rows (0: skip)")
    ap.add_argument("--router", type=Path, help="a trained router folder (default: random weights)")
    args = ap.parse_args()
    qs = questions(args.n)
    settings = load_settings()
    rows: list[tuple[str, int, np.ndarray]] = []
    rows.append(("baseline (detect_lang)", len(qs), timed(lambda q: detect_lang(q.text), qs)))
    sig = SignalRouter.from_settings(settings)
    rows.append(("signal router", len(qs), timed(sig.route, qs)))
    trained = LearnedRouter.load(args.router) if args.router else None
    n_arms = len(trained.arms) if trained else 4
    learned = trained if trained and not trained.embedder else random_router(None, n_arms)
    emb = trained if trained and trained.embedder else random_router("minilm", n_arms)
    rows.append(("learned router, signal features", len(qs), timed(learned.route, qs)))
    batch_s = None
    if args.embed_n:
        sub = qs[: args.embed_n]
        t0 = time.perf_counter()
        emb.featurizer.embed([q.text for q in sub])  # fill the per-text cache in one batch
        batch_s = (time.perf_counter() - t0) / len(sub)
        rows.append(("learned router + MiniLM, cached", len(sub), timed(emb.route, sub)))
        cold = Featurizer("minilm")
        cold._embedder = emb.featurizer._model()
        single = qs[args.embed_n: args.embed_n + 30]
        rows.append(("MiniLM embedding, one uncached question", len(single),
                     timed(lambda q: cold.embed([q.text]), single)))
    base = np.percentile(rows[0][2][:, 0], 50)
    print(f"router decision overhead, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f} (on a shared machine compare ratios and CPU time)")
    print(f"{'row':42} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'p99 cpu ms':>11} {'p50/baseline':>13}")
    for name, n, t in rows:
        p50, p99 = np.percentile(t[:, 0], 50) * 1e3, np.percentile(t[:, 0], 99) * 1e3
        print(f"{name:42} {n:5d} {p50:9.3f} {p99:9.3f} {np.percentile(t[:, 1], 99) * 1e3:11.3f} "
              f"{p50 / (base * 1e3):13.1f}")
    if batch_s is not None:
        print(f"MiniLM batch embedding while filling the cache: {batch_s * 1e3:.1f} ms/question")


if __name__ == "__main__":
    main()
