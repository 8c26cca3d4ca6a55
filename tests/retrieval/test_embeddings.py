"""Embedders with the real packaged MiniLM: the fast ONNX path held against sentence-transformers."""
from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from medqa.errors import UnknownName
from medqa.retrieval.embeddings import (
    CHUNK_MAX_TOKENS,
    ChromaEmbedding,
    Embedder,
    embedder_names,
    get_embedder,
    minilm_dir,
    register_embedder,
)

pytestmark = pytest.mark.slow
DATA = Path(os.environ["MEDQA_DATA_DIR"])


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Real corpus sections of very different lengths (some past 256 tokens), and queries."""
    out: list[str] = []
    with gzip.open(DATA / "corpus" / "medquad_corpus.jsonl.gz", "rt") as f:
        for line, _ in zip(f, range(12)):
            d = json.loads(line)
            out += [f"{d['title']}\n{s['heading']}\n{s['text'][:1500]}" for s in d["sections"][:2]]
    with open(DATA / "eval" / "medquad_retrieval_dev.jsonl") as f:
        out += [json.loads(line)["question"] for line, _ in zip(f, range(8))]
    return out


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embeddings")


@pytest.fixture(scope="module")
def fast(cache_dir: Path):
    """The ONNX embedder, built over a half-written file left by a killed build."""
    from medqa.retrieval.onnx_embed import OnnxEmbedder, source_key

    stale = cache_dir / f"minilm-{source_key(minilm_dir())}.onnx"
    stale.write_bytes(b"\x08\x07" * 5000)  # truncated junk under the real name, no sidecar
    return OnnxEmbedder("minilm-test", minilm_dir(), cache_dir)


@pytest.fixture(scope="module")
def reference() -> Embedder:
    return get_embedder("minilm-st")


@pytest.mark.parametrize("max_tokens", [256, CHUNK_MAX_TOKENS])
def test_tokens_match_sentence_transformers(fast, reference, texts, max_tokens):
    """Same ids as the reference tokenizer cut at the same length: the model's 256
    (documents, queries) and 128 (index chunks)."""
    ours = fast.token_ids(texts, max_tokens)
    full = reference.model.max_seq_length
    reference.model.max_seq_length = max_tokens
    try:
        theirs = reference.model.tokenize(texts)["input_ids"].tolist()
    finally:
        reference.model.max_seq_length = full
    assert max(map(len, ours)) == max_tokens  # some texts are longer: they were cut
    for a, b in zip(ours, theirs):
        assert a == [t for t in b if t != 0]


def test_chunks_are_cut_at_128_tokens(fast, reference, texts):
    """embed_chunks = embed_documents for short texts; long ones lose their tail, as the
    reference does at the same length; other callers keep 256."""
    lengths = [len(x) for x in fast.token_ids(texts)]
    short = [t for t, n in zip(texts, lengths) if n <= CHUNK_MAX_TOKENS]
    long = [t for t, n in zip(texts, lengths) if n > CHUNK_MAX_TOKENS]
    assert short and long and fast.chunk_max_tokens == reference.chunk_max_tokens == 128
    np.testing.assert_allclose(fast.embed_chunks(short, batch_size=1),
                               fast.embed_documents(short, batch_size=1), atol=1e-5)
    cut, whole = fast.embed_chunks(long, batch_size=1), fast.embed_documents(long, batch_size=1)
    cos = np.sum(cut * whole, axis=1)
    assert cos.max() < 0.9999 and cos.min() > 0.5  # the tail is gone, the topic is not
    ref = reference.embed_chunks(long)
    assert np.sum(cut * ref, axis=1).min() >= 0.98  # the reference cut at 128 agrees
    assert reference.model.max_seq_length == 256  # and is back to its own limit
    assert np.sum(reference.embed_documents(long) * whole, axis=1).min() >= 0.98


def test_fast_agrees_with_reference(fast, reference, texts):
    a, b = fast.embed_documents(texts, batch_size=8), reference.embed_documents(texts)
    assert a.shape == b.shape == (len(texts), 384) and a.dtype == np.float32
    cos = np.sum(a * b, axis=1)
    assert cos.mean() >= 0.99 and cos.min() >= 0.98
    q = texts[-1]
    assert float(fast.embed_query(q) @ reference.embed_query(q)) >= 0.98


def test_rows_are_unit_length(fast, texts):
    v = fast.embed_documents(texts)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    q = fast.embed_query("What are the symptoms of glaucoma?")
    assert q.shape == (384,) and q.dtype == np.float32
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-4


def test_order_kept_across_length_buckets(fast, texts):
    """Batched rows (sorted by length inside) come back in input order."""
    mixed = texts[::-1]
    batched = fast.embed_documents(mixed, batch_size=4)
    single = np.stack([fast.embed_documents([t])[0] for t in mixed])
    sims = batched @ single.T
    assert list(sims.argmax(axis=1)) == list(range(len(mixed)))
    assert np.diag(sims).min() >= 0.99


def test_duplicates_get_identical_rows(fast, texts):
    v = fast.embed_documents([texts[0], texts[1], texts[0]])
    np.testing.assert_array_equal(v[0], v[2])


def test_empty_input(fast, reference):
    for e in (fast, reference):
        assert e.embed_documents([]).shape == (0, 384)


def test_cache_is_reused_and_damage_detected(fast, cache_dir, tmp_path):
    """A second load reuses the built file; a truncated copy fails the integrity check."""
    from medqa.retrieval.onnx_embed import _cache_ok, ensure_onnx

    path = fast.model_path
    before = path.stat().st_mtime_ns
    assert ensure_onnx(minilm_dir(), cache_dir) == path
    assert path.stat().st_mtime_ns == before
    assert not list(cache_dir.glob(".build-*"))  # no temporary files left behind
    meta = path.with_suffix(".json")
    assert _cache_ok(path, meta)
    broken = tmp_path / path.name
    broken.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    shutil.copy(meta, broken.with_suffix(".json"))
    assert not _cache_ok(broken, broken.with_suffix(".json"))


def test_registry(reference):
    assert {"minilm", "minilm-st"} <= set(embedder_names())
    assert get_embedder("minilm-st") is reference
    with pytest.raises(UnknownName) as err:
        get_embedder("no-such-model")
    assert "minilm" in err.value.hint


def test_registered_embedder_serves_chroma(fast, tmp_path):
    """A collection made with ChromaEmbedding ranks like brute-force cosine."""
    import chromadb

    register_embedder("minilm-test", lambda: fast)
    docs = ["Glaucoma damages the optic nerve.", "Asthma narrows the airways.",
            "Diabetes raises blood sugar."]
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    col = client.create_collection("emb-test", embedding_function=ChromaEmbedding(fast),
                                   configuration={"hnsw": {"space": "cosine"}})
    col.add(ids=["g", "a", "d"], documents=docs)
    hit = col.query(query_texts=["trouble breathing and wheezing"], n_results=3)
    q = fast.embed_query("trouble breathing and wheezing")
    brute = np.argsort(-(fast.embed_documents(docs) @ q))
    assert hit["ids"][0] == [["g", "a", "d"][i] for i in brute]


def test_int8_weights_cannot_saturate_avx2_sums(fast):
    """Weights stay within +-64 (u8 activations x s8 weights add pairs in int16 on AVX2:
    255 * 64 * 2 fits, 255 * 127 * 2 does not) and no fused SkipLayerNormalization is left."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(fast.model_path))
    weights = [numpy_helper.to_array(t) for t in model.graph.initializer
               if t.data_type == onnx.TensorProto.INT8]
    assert len(weights) >= 6 * 4  # every layer's QKV, output, and two FFN matrices
    assert max(int(np.abs(w.astype(np.int32)).max()) for w in weights) <= 64
    assert "SkipLayerNormalization" not in {n.op_type for n in model.graph.node}
