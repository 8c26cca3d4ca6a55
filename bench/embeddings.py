"""Embedding throughput, agreement and query latency: plain sentence-transformers vs medqa's fast path.

    nice -n 5 .venv/bin/python bench/embeddings.py [--n 512] [--queries 300] [--rounds 2]

Prints, in one run, on the same fixed sample of real MedQuAD chunks (~1,000 characters):
chunks/s for each embedder and batch size, the ratio to sentence-transformers at batch
64, the extrapolated minutes for the full corpus (31,500 chunks), how closely the fast
vectors agree with the reference (cosine, top-10 neighbour overlap for real questions),
and query-embedding latency p50/p95. Timings on a shared machine are noisy: read the
ratios, which are measured in the same run, and CPU ms per chunk (process CPU time),
which other load disturbs far less than wall time.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from medqa.retrieval.embeddings import Embedder, get_embedder  # noqa: E402

FULL_CORPUS_CHUNKS = 31_500
BASELINE = ("minilm-st", 64)


def data_dir() -> Path:
    from medqa.config import load_settings

    return Path(os.environ.get("MEDQA_DATA_DIR") or load_settings().data_dir)


def sample_chunks(n: int, seed: int = 0) -> list[str]:
    """`n` real MedQuAD chunks (title + heading + ~1,000-character piece), fixed by `seed`."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100)
    with gzip.open(data_dir() / "corpus" / "medquad_corpus.jsonl.gz", "rt") as f:
        docs = [json.loads(line) for line in f]
    random.Random(seed).shuffle(docs)
    out: list[str] = []
    for d in docs:
        for s in d["sections"]:
            out += [f"{d['title']}\n{s['heading']}\n{c}" for c in splitter.split_text(s["text"])]
        if len(out) >= n:
            break
    return out[:n]


def sample_questions(n: int) -> list[str]:
    """The first `n` questions of the MedQuAD retrieval dev set."""
    with open(data_dir() / "eval" / "medquad_retrieval_dev.jsonl") as f:
        return [json.loads(line)["question"] for _, line in zip(range(n), f)]


def throughput(e: Embedder, texts: list[str], batch: int, rounds: int) -> tuple[float, float, np.ndarray]:
    """Best chunks/s and CPU ms per chunk over `rounds` (least disturbed by other load)."""
    e.embed_documents(texts[:8], batch_size=batch)  # warm-up
    wall, cpu, vecs = float("inf"), float("inf"), np.zeros(0)
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        vecs = e.embed_documents(texts, batch_size=batch)
        wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - c)
    return len(texts) / wall, cpu / len(texts) * 1000, vecs


def query_latency(e: Embedder, questions: list[str]) -> tuple[float, float, np.ndarray]:
    """p50 and p95 milliseconds of embed_query, and the query vectors."""
    for q in questions[:20]:
        e.embed_query(q)
    times, vecs = [], []
    for q in questions:
        t = time.perf_counter()
        vecs.append(e.embed_query(q))
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95)), np.stack(vecs)


def topk_overlap(q_a: np.ndarray, d_a: np.ndarray, q_b: np.ndarray, d_b: np.ndarray, k: int = 10) -> float:
    """Mean share of the top-k documents two embedders agree on, over the queries."""
    top_a = np.argsort(-(q_a @ d_a.T), axis=1)[:, :k]
    top_b = np.argsort(-(q_b @ d_b.T), axis=1)[:, :k]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(top_a, top_b)]))


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=512, help="chunks in the sample")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=1, help="timed repeats; the best is kept")
    ap.add_argument("--fast", default="minilm", help="the embedder held against minilm-st")
    ap.add_argument("--fast-batches", default="32,64")
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    texts, questions = sample_chunks(args.n), sample_questions(args.queries)
    ref, fast = get_embedder("minilm-st"), get_embedder(args.fast)
    runs = [("minilm-st", 16), ("minilm-st", 64)]
    runs += [(args.fast, int(b)) for b in args.fast_batches.split(",")]
    rates: dict[tuple[str, int], float] = {}
    cpu_ms: dict[tuple[str, int], float] = {}
    vecs: dict[str, np.ndarray] = {}
    for name, batch in runs:
        rates[(name, batch)], cpu_ms[(name, batch)], vecs[name] = throughput(
            get_embedder(name), texts, batch, args.rounds)
    lat = {name: query_latency(get_embedder(name), questions) for name in ("minilm-st", args.fast)}

    avg_chars = sum(map(len, texts)) / len(texts)
    table = Table(title=f"Embedding {len(texts)} MedQuAD chunks (avg {avg_chars:.0f} chars), "
                        f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}")
    base = f"{BASELINE[0]} b{BASELINE[1]}"
    for col in ("embedder", "batch", "chunks/s", f"x vs {base}", "full corpus (min)",
                "CPU ms/chunk", f"CPU x vs {base}", "query p50 ms", "query p95 ms"):
        table.add_column(col, justify="right")
    for (name, batch), rate in rates.items():
        p50, p95, _ = lat[name]
        cpu = cpu_ms[(name, batch)]
        table.add_row(name, str(batch), f"{rate:.1f}", f"{rate / rates[BASELINE]:.2f}",
                      f"{FULL_CORPUS_CHUNKS / rate / 60:.1f}", f"{cpu:.1f}",
                      f"{cpu_ms[BASELINE] / cpu:.2f}", f"{p50:.2f}", f"{p95:.2f}")
    console = Console(width=150)  # the full table even when piped
    console.print(table)

    cos = np.sum(vecs[args.fast] * vecs["minilm-st"], axis=1)
    qcos = np.sum(lat[args.fast][2] * lat["minilm-st"][2], axis=1)
    overlap = topk_overlap(lat[args.fast][2], vecs[args.fast], lat["minilm-st"][2], vecs["minilm-st"])
    console.print(f"agreement {args.fast} vs minilm-st: chunk cosine mean {cos.mean():.4f} "
                  f"min {cos.min():.4f}; query cosine mean {qcos.mean():.4f} min {qcos.min():.4f}; "
                  f"top-10 neighbour overlap over {len(questions)} questions {overlap:.3f}")


if __name__ == "__main__":
    main()
