"""Embedding throughput, agreement and query latency: plain sentence-transformers vs medqa's fast path.

    nice -n 5 .venv/bin/python bench/embeddings.py [--n 512] [--queries 300] [--rounds 2]

Prints, in one run, on the same fixed sample of real MedQuAD chunks (~1,000 characters):
chunks/s for each embedder, batch size and input length (documents: the model's 256
tokens; index chunks via embed_chunks: 128), the ratio to plain sentence-transformers at
batch 64 and 256 tokens (what LangChain's HuggingFaceEmbeddings runs), the extrapolated
minutes for the full corpus (31,500 chunks), how closely the fast vectors agree with the
reference on the same input (cosine, top-10 neighbour overlap for real questions), and
query-embedding latency p50/p95. Timings on a shared machine are noisy: read the
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
BASELINE = ("minilm-st", 64, False)  # (embedder, batch, as index chunks)


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


def throughput(e: Embedder, texts: list[str], batch: int, rounds: int,
               chunks: bool = False) -> tuple[float, float, np.ndarray]:
    """Best chunks/s and CPU ms per chunk over `rounds` (least disturbed by other load);
    `chunks`: through embed_chunks (cut at the embedder's chunk_max_tokens)."""
    embed = e.embed_chunks if chunks else e.embed_documents
    embed(texts[:8], batch_size=batch)  # warm-up
    wall, cpu, vecs = float("inf"), float("inf"), np.zeros(0)
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        vecs = embed(texts, batch_size=batch)
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
    ap.add_argument("--fast-batches", default="32")
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    texts, questions = sample_chunks(args.n), sample_questions(args.queries)
    runs = [("minilm-st", 16, False), ("minilm-st", 64, False), ("minilm-st", 64, True)]
    for b in args.fast_batches.split(","):
        runs += [(args.fast, int(b), False), (args.fast, int(b), True)]
    rates: dict[tuple[str, int, bool], float] = {}
    cpu_ms: dict[tuple[str, int, bool], float] = {}
    vecs: dict[tuple[str, bool], np.ndarray] = {}
    for name, batch, chunks in runs:
        e = get_embedder(name)
        rates[(name, batch, chunks)], cpu_ms[(name, batch, chunks)], vecs[(name, chunks)] = \
            throughput(e, texts, batch, args.rounds, chunks)
    lat = {name: query_latency(get_embedder(name), questions) for name in ("minilm-st", args.fast)}

    avg_chars = sum(map(len, texts)) / len(texts)
    table = Table(title=f"Embedding {len(texts)} MedQuAD chunks (avg {avg_chars:.0f} chars), "
                        f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}")
    base = f"{BASELINE[0]} b{BASELINE[1]}"
    for col in ("embedder", "batch", "tokens", "chunks/s", f"x vs {base}", "full corpus (min)",
                "CPU ms/chunk", f"CPU x vs {base}", "query p50 ms", "query p95 ms"):
        table.add_column(col, justify="right")
    for (name, batch, chunks), rate in rates.items():
        p50, p95, _ = lat[name]
        cpu = cpu_ms[(name, batch, chunks)]
        e = get_embedder(name)
        table.add_row(name, str(batch), str(e.chunk_max_tokens if chunks else 256),
                      f"{rate:.1f}", f"{rate / rates[BASELINE]:.2f}",
                      f"{FULL_CORPUS_CHUNKS / rate / 60:.1f}", f"{cpu:.1f}",
                      f"{cpu_ms[BASELINE] / cpu:.2f}", f"{p50:.2f}", f"{p95:.2f}")
    console = Console(width=160)  # the full table even when piped
    console.print(table)

    for chunks in (False, True):
        cos = np.sum(vecs[(args.fast, chunks)] * vecs[("minilm-st", chunks)], axis=1)
        overlap = topk_overlap(lat[args.fast][2], vecs[(args.fast, chunks)], lat["minilm-st"][2],
                               vecs[("minilm-st", chunks)])
        console.print(f"agreement {args.fast} vs minilm-st, {'chunks at 128' if chunks else 'documents at 256'}"
                      f" tokens: chunk cosine mean {cos.mean():.4f} min {cos.min():.4f}; top-10 "
                      f"neighbour overlap over {len(questions)} questions {overlap:.3f}")
    qcos = np.sum(lat[args.fast][2] * lat["minilm-st"][2], axis=1)
    console.print(f"query cosine mean {qcos.mean():.4f} min {qcos.min():.4f}")


if __name__ == "__main__":
    main()
