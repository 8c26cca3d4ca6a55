"""Retrieval benchmark: ingest throughput (medqa vs. LangChain) and query latency, one run.

    nice -n 5 .venv/bin/python bench/retrieval.py [--sample-docs 80] [--queries 1000]

1. Ingest: the first --sample-docs MedQuAD documents, chunked once by medqa's chunker, are
   indexed (a) by `medqa.retrieval.ingest` (embedding + Chroma + manifest + BM25) and (b) by
   LangChain's `Chroma.from_documents` with `HuggingFaceEmbeddings` on the same MiniLM and the
   same chunk texts. Model loading is outside both timings. Printed as chunks/s, the ratio,
   and minutes extrapolated to the full corpus.
2. Latency: --queries questions of medquad_retrieval_dev at k=10 against the tenant index of
   MEDQA_HOME (build it first: `medqa ingest medquad`), after --warmup queries, for bm25,
   dense and hybrid: p50 and p95 in ms, plus the query embedding alone.
The machine may be shared: read the ratio, not the absolute numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def sample_chunks(settings, docs: int) -> list:  # noqa: ANN001
    from medqa.retrieval.chunking import chunk_document
    from medqa.retrieval.loaders import load_source

    r = settings.retrieval
    out = []
    for n, d in enumerate(load_source("medquad", settings)):
        if n >= docs:
            break
        out.extend(chunk_document(d, r.chunk_size, r.chunk_overlap))
    return out


def full_corpus_chunks(settings) -> int:  # noqa: ANN001
    from medqa.retrieval.chunking import chunk_document
    from medqa.retrieval.loaders import load_source

    r = settings.retrieval
    return sum(len(chunk_document(d, r.chunk_size, r.chunk_overlap))
               for d in load_source("medquad", settings))


def bench_medqa(settings, docs: int) -> tuple[int, float]:  # noqa: ANN001
    from medqa.retrieval.embeddings import get_embedder
    from medqa.retrieval.ingest import ingest

    get_embedder(settings.retrieval.embedding_model).embed_documents(["warm up"])
    report = ingest("medquad", settings, limit=docs)
    return report.added, report.seconds


def langchain_embeddings():  # noqa: ANN201
    """HuggingFaceEmbeddings on the packaged MiniLM (langchain-huggingface if installed)."""
    from medqa.retrieval.embeddings import minilm_dir

    kwargs = {"normalize_embeddings": True}
    try:
        from langchain_huggingface import HuggingFaceEmbeddings

        return HuggingFaceEmbeddings(model_name=str(minilm_dir()), model_kwargs={"device": "cpu"},
                                     encode_kwargs=kwargs), "langchain-huggingface"
    except ImportError:
        # Same thing HuggingFaceEmbeddings does: SentenceTransformer.encode, batch 32.
        from langchain_core.embeddings import Embeddings
        from sentence_transformers import SentenceTransformer

        class STEmbeddings(Embeddings):
            def __init__(self) -> None:
                self.model = SentenceTransformer(str(minilm_dir()), device="cpu")

            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                return self.model.encode(texts, **kwargs).tolist()

            def embed_query(self, text: str) -> list[float]:
                return self.embed_documents([text])[0]

        return STEmbeddings(), "sentence-transformers (langchain-huggingface not installed)"


def bench_langchain(chunks: list, folder: Path) -> tuple[int, float, str]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document

    emb, kind = langchain_embeddings()
    emb.embed_documents(["warm up"])
    docs = [Document(page_content=c.index_text, metadata=c.metadata("bench"), id=c.id)
            for c in chunks]
    client = chromadb.PersistentClient(path=str(folder),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    t0 = time.perf_counter()
    Chroma.from_documents(docs, emb, client=client, collection_name="langchain_bench",
                          ids=[c.id for c in chunks])
    return len(docs), time.perf_counter() - t0, kind


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def bench_latency(settings, n: int, warmup: int) -> dict[str, tuple[float, float]]:  # noqa: ANN001
    from medqa.retrieval.evaluate import load_questions
    from medqa.retrieval.hybrid import open_retriever

    questions = [r["question"] for r in load_questions("medquad_retrieval_dev", settings)]
    qs = (questions * (n // len(questions) + 1))[:n]
    r = open_retriever(settings)
    emb = r._index.embedder
    runs = {"query embedding": lambda q: emb.embed_query(q), "bm25": lambda q: r.bm25.search(q, 10),
            "dense": lambda q: r.dense.search(q, 10), "hybrid": lambda q: r.search(q, 10)}
    out = {}
    for name, fn in runs.items():
        for q in questions[-warmup:]:
            fn(q)
        times = []
        for q in qs:
            t0 = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = (pct(times, 50), pct(times, 95))
    return out


def main() -> None:
    from medqa.config import load_settings

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample-docs", type=int, default=80)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--skip-ingest", action="store_true")
    args = ap.parse_args()
    settings = load_settings()
    print(f"embedding model: {settings.retrieval.embedding_model}; "
          f"cpus: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f} (shared machine)")
    if not args.skip_ingest:
        total = full_corpus_chunks(settings)
        chunks = sample_chunks(settings, args.sample_docs)
        with tempfile.TemporaryDirectory() as tmp:
            ours = load_settings(home=Path(tmp) / "home")
            n_m, s_m = bench_medqa(ours, args.sample_docs)
            n_l, s_l, kind = bench_langchain(chunks, Path(tmp) / "langchain")
        assert n_m == n_l == len(chunks), (n_m, n_l, len(chunks))
        rm, rl = n_m / s_m, n_l / s_l
        print(f"\nIngest, first {args.sample_docs} MedQuAD documents = {len(chunks)} chunks "
              f"(full corpus: {total:,} chunks)")
        print(f"{'path':<48}{'chunks/s':>10}{'full corpus (min)':>20}")
        print(f"{'medqa ingest':<48}{rm:>10.1f}{total / rm / 60:>20.1f}")
        print(f"{'LangChain Chroma.from_documents, ' + kind[:14]:<48}{rl:>10.1f}"
              f"{total / rl / 60:>20.1f}")
        print(f"ratio medqa / LangChain: {rm / rl:.2f}x")
    print(f"\nQuery latency, {args.queries} queries at k=10 after {args.warmup} warm-up "
          f"(index: {settings.index_dir})")
    print(f"{'retriever':<18}{'p50 ms':>10}{'p95 ms':>10}")
    for name, (p50, p95) in bench_latency(settings, args.queries, args.warmup).items():
        print(f"{name:<18}{p50:>10.2f}{p95:>10.2f}")
    print(json.dumps({"load_average_after": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
