"""Retrieval benchmark: ingest throughput (medqa vs. LangChain) and query latency (medqa vs.
a plain pipeline), in one run.

    nice -n 5 .venv/bin/python bench/retrieval.py [--sample-docs 160] [--queries 1000]

1. Ingest: --sample-docs MedQuAD documents spread evenly over the corpus, written as
   MedQuAD-shaped JSONL in --slices files. Slice by slice, in turn, (a) medqa's `ingest`
   (chunking, embedding, Chroma, manifest, BM25 and vector rebuild) and (b) LangChain's
   `Chroma.from_documents` with `HuggingFaceEmbeddings` (same MiniLM weights, the same
   chunk texts) each index it. Model loading is outside both timings. Printed: chunks/s,
   CPU ms per chunk (process time, all threads: what other load disturbs least), the
   ratios, and minutes extrapolated to the full corpus.
2. Latency: --queries questions of medquad_retrieval_dev at k=10 against the tenant index of
   MEDQA_HOME (build it first: `medqa ingest medquad`), after --warmup queries: medqa's
   query embedding, bm25, dense and hybrid, and the plain pipeline (query embedded by
   sentence-transformers, Chroma's query, bm25s, RRF of the two top-10 lists) with its
   parts. The paths take turns in blocks of 50 queries. p50/p95 ms and the ratio.
The machine may be shared: read the ratios, measured in the same run, before absolute numbers.
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


def sample_documents(settings, docs: int) -> tuple[list, int]:  # noqa: ANN001
    """`docs` MedQuAD documents spread evenly over the corpus (every n-th), and the chunk
    count of the full corpus."""
    from medqa.retrieval.chunking import chunk_document
    from medqa.retrieval.loaders import load_source

    r = settings.retrieval
    every = list(load_source("medquad", settings))
    total = sum(len(chunk_document(d, r.chunk_size, r.chunk_overlap)) for d in every)
    step = max(1, len(every) // docs)
    return every[::step][:docs], total


def write_slices(documents: list, folder: Path, slices: int) -> list[Path]:
    """The documents as MedQuAD-shaped JSONL files, one per slice (medqa ingests a file)."""
    folder.mkdir(parents=True)
    paths = []
    for n in range(slices):
        path = folder / f"slice{n}.jsonl"
        with open(path, "w") as f:
            for d in documents[n::slices]:
                f.write(json.dumps({"id": d.doc_id, "title": d.title, "source": d.source,
                                    "url": d.url, "sections": [{"heading": s.heading,
                                                                "text": s.text}
                                                               for s in d.sections]}) + "\n")
        paths.append(path)
    return paths


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


class Clock:
    """Wall and process CPU seconds (all threads) spent inside `with clock:` blocks."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> "Clock":
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c


def bench_ingest(settings, docs: int, slices: int) -> None:  # noqa: ANN001
    """medqa's `ingest` and LangChain's `Chroma.from_documents`, slice by slice in turn, so
    load from other processes falls on both alike."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document

    from medqa.config import load_settings
    from medqa.retrieval.chunking import chunk_document
    from medqa.retrieval.embeddings import get_embedder
    from medqa.retrieval.ingest import ingest

    documents, total = sample_documents(settings, docs)
    r = settings.retrieval
    get_embedder(r.embedding_model).embed_documents(["warm up"])  # model loading: untimed
    emb, kind = langchain_embeddings()
    emb.embed_documents(["warm up"])
    ours, theirs = Clock(), Clock()
    n_ours = n_theirs = 0
    with tempfile.TemporaryDirectory() as tmp:
        home = load_settings(home=Path(tmp) / "home")
        client = chromadb.PersistentClient(path=str(Path(tmp) / "langchain"),
                                           settings=ChromaSettings(anonymized_telemetry=False))
        for path in write_slices(documents, Path(tmp) / "sample", slices):
            from medqa.retrieval.loaders import load_source

            chunks = [c for d in load_source(path, home) for c in
                      chunk_document(d, r.chunk_size, r.chunk_overlap)]
            with ours:
                n_ours += ingest(path, home).added
            lc_docs = [Document(page_content=c.index_text, metadata=c.metadata("bench"), id=c.id)
                       for c in chunks]
            with theirs:
                Chroma.from_documents(lc_docs, emb, client=client,
                                      collection_name="langchain_bench",
                                      ids=[c.id for c in chunks])
            n_theirs += len(lc_docs)
    assert n_ours == n_theirs, (n_ours, n_theirs)
    rm, rl = n_ours / ours.wall, n_theirs / theirs.wall
    print(f"\nIngest: {len(documents)} MedQuAD documents spread over the corpus = {n_ours} "
          f"chunks, in {slices} slices taken in turn (full corpus: {total:,} chunks)")
    cut = get_embedder(r.embedding_model).chunk_max_tokens or "all"
    print(f"{'path':<60}{'chunks/s':>10}{'CPU ms/chunk':>14}{'full corpus (min)':>19}")
    print(f"{f'medqa ingest ({r.embedding_model}, chunks cut at {cut} tokens)':<60}{rm:>10.1f}"
          f"{ours.cpu / n_ours * 1000:>14.1f}{total / rm / 60:>19.1f}")
    print(f"{'LangChain Chroma.from_documents, ' + kind[:21] + ' (256)':<60}{rl:>10.1f}"
          f"{theirs.cpu / n_theirs * 1000:>14.1f}{total / rl / 60:>19.1f}")
    print(f"ratio medqa / LangChain: {rm / rl:.2f}x wall, {theirs.cpu / ours.cpu:.2f}x CPU time")
    print(f"LangChain embeddings: {kind}")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def plain_pipeline(settings, index):  # noqa: ANN001, ANN201
    """The plain hybrid pipeline the issue measured: the query embedded by plain
    sentence-transformers, Chroma's own query, bm25s, RRF of the two top-k lists, texts of
    the fused top k. Same index, same weights."""
    import torch

    from medqa.retrieval.embeddings import get_embedder
    from medqa.retrieval.fusion import rrf
    from medqa.retrieval.store import ChromaStore
    from medqa.retrieval.tokenize import tokenize

    torch.set_num_threads(1)  # its best on 2 busy cores (2 threads measured ~5x slower)
    st = get_embedder("minilm-st")
    store = ChromaStore(settings, index.embedder, create=False)

    def chroma(vector, k: int) -> dict:  # noqa: ANN001
        return store.col.query(query_embeddings=[vector], n_results=k,
                               include=["documents", "metadatas", "distances"])

    def search(q: str, k: int = 10) -> list[tuple[str, str]]:
        res = chroma(st.embed_query(q), k)
        rows, _ = index.bm25.top(tokenize(q), k)
        dense_ids = res["ids"][0]
        fused = [cid for cid, _ in rrf([[index.bm25.ids[r] for r in rows], dense_ids], 60)][:k]
        texts = dict(zip(dense_ids, res["documents"][0]))
        missing = [cid for cid in fused if cid not in texts]
        if missing:
            texts.update(index.manifest.texts(missing))
        return [(cid, texts[cid]) for cid in fused]

    return st, chroma, search


def bench_latency(settings, n: int, warmup: int, block: int = 50) -> dict[str, list[float]]:  # noqa: ANN001
    """ms per query for each path; the paths take turns in blocks of `block` queries, so
    load from other processes falls on all of them alike."""
    from medqa.retrieval.evaluate import load_questions
    from medqa.retrieval.hybrid import open_retriever

    questions = [r["question"] for r in load_questions("medquad_retrieval_dev", settings)]
    qs = (questions * (n // len(questions) + 1))[:n]
    r = open_retriever(settings)
    idx = r._current()
    emb = idx.embedder
    st, chroma, plain = plain_pipeline(settings, idx)
    vec = {}
    runs = {"query embedding": lambda q: emb.embed_query(q),
            "bm25": lambda q: r.bm25.search(q, 10),
            "dense": lambda q: r.dense.search(q, 10),
            "hybrid": lambda q: r.search(q, 10),
            "plain: query embedding (s-t)": lambda q: vec.__setitem__(q, st.embed_query(q)),
            "plain: Chroma query": lambda q: chroma(vec[q], 10),
            "plain hybrid": lambda q: plain(q, 10)}
    out: dict[str, list[float]] = {name: [] for name in runs}
    for q in questions[-warmup:]:
        for fn in runs.values():
            fn(q)
    for start in range(0, len(qs), block):
        for name, fn in runs.items():
            for q in qs[start:start + block]:
                t0 = time.perf_counter()
                fn(q)
                out[name].append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    from medqa.config import load_settings

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample-docs", type=int, default=160)
    ap.add_argument("--slices", type=int, default=4)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    args = ap.parse_args()
    settings = load_settings()
    print(f"embedding model: {settings.retrieval.embedding_model}; "
          f"cpus: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f} (shared machine)")
    if not args.skip_ingest:
        bench_ingest(settings, args.sample_docs, args.slices)
    if not args.skip_latency:
        print(f"\nQuery latency, {args.queries} queries at k=10 after {args.warmup} warm-up, "
              f"paths in turn (index: {settings.index_dir})")
        times = bench_latency(settings, args.queries, args.warmup)
        print(f"{'path':<32}{'p50 ms':>10}{'p95 ms':>10}")
        for name, values in times.items():
            print(f"{name:<32}{pct(values, 50):>10.2f}{pct(values, 95):>10.2f}")
        plain, ours = times["plain hybrid"], times["hybrid"]
        print(f"hybrid vs plain pipeline: {pct(plain, 50) / pct(ours, 50):.2f}x faster at p50, "
              f"{pct(plain, 95) / pct(ours, 95):.2f}x at p95")
    print(json.dumps({"load_average_after": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
