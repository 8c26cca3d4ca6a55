"""In-memory dense search: exact against brute force, and in step with Chroma (the store of record)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import make_settings
from medqa.retrieval.dense import VECTORS, DenseIndex
from medqa.retrieval.hybrid import open_retriever, remove_source
from medqa.retrieval.ingest import ingest


def brute_force(matrix: np.ndarray, q: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    cos = matrix.astype(np.float64) @ q.astype(np.float64)
    order = np.lexsort((np.arange(len(cos)), -cos))[:n]
    return order, cos[order]


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def hard_matrix(rng: np.random.Generator) -> np.ndarray:
    """Rows int8 cannot tell apart: clusters of near-copies, exact duplicates, and rows whose
    mass sits in a few dimensions (large int8 products, where AVX2 sums could saturate)."""
    centres = unit(rng.standard_normal((20, 64)))
    near = unit(np.repeat(centres, 60, axis=0) + 2e-3 * rng.standard_normal((1200, 64)))
    spiky = np.zeros((300, 64), dtype=np.float32)
    spiky[:, :4] = rng.uniform(0.3, 1.0, (300, 4))
    spread = unit(rng.standard_normal((500, 64)))
    return np.concatenate([near, near[:40], unit(spiky + 1e-3), spread])


@pytest.mark.parametrize("n", [1, 10, 100, 1500, 2040])
def test_int8_path_is_exact(n):
    rng = np.random.default_rng(7)
    matrix = hard_matrix(rng)
    index = DenseIndex(matrix, coarse_min_rows=0)
    assert index.coarse is not None
    queries = [matrix[5], matrix[1210], unit(rng.standard_normal(64)),
               unit(np.r_[np.ones(4), np.zeros(60)]), unit(-np.r_[np.ones(4), np.zeros(60)]),
               *unit(matrix[rng.integers(0, len(matrix), 20)] + 1e-3 * rng.standard_normal((20, 64)))]
    for q in queries:
        rows, sims = index.top(q, n)
        want_rows, want_sims = brute_force(matrix, q, n)
        # ties between exact duplicates may come in either order in float32; scores may not
        np.testing.assert_allclose(sims, want_sims, atol=1e-6)
        assert set(rows[sims > want_sims[-1] + 1e-6]) == set(want_rows[want_sims > want_sims[-1] + 1e-6])
        assert len(rows) == min(n, len(matrix))


def test_int8_candidates_are_few_and_contain_the_top():
    rng = np.random.default_rng(3)
    matrix = unit(rng.standard_normal((20000, 96)))
    index = DenseIndex(matrix, coarse_min_rows=0)
    for q in unit(rng.standard_normal((10, 96))):
        cand = index.coarse.candidates(q, 50)
        assert set(brute_force(matrix, q, 50)[0]) <= set(cand.tolist())
        assert len(cand) < 2000  # the bound prunes: most rows are never scored in float32


def test_small_and_degenerate_inputs():
    m = unit(np.random.default_rng(0).standard_normal((5, 8)))
    for threshold in (0, 10**6):
        index = DenseIndex(m, coarse_min_rows=threshold)
        rows, sims = index.top(m[2], 3)
        assert rows[0] == 2 and sims[0] == pytest.approx(1.0)
        assert len(index.top(m[0], 50)[0]) == 5
        assert len(index.top(m[0], 0)[0]) == 0
        rows, sims = index.top(np.zeros(8, dtype=np.float32), 2)  # zero query: all tie at 0
        assert rows.tolist() == [0, 1] and sims.tolist() == [0.0, 0.0]
    empty = DenseIndex(np.zeros((0, 8), dtype=np.float32))
    assert len(empty) == 0 and len(empty.top(m[0], 5)[0]) == 0


def in_chroma(settings) -> dict[str, np.ndarray]:
    from medqa.retrieval.embeddings import get_embedder
    from medqa.retrieval.store import ChromaStore

    got = ChromaStore(settings, get_embedder(settings.retrieval.embedding_model)).col.get(
        include=["embeddings"])
    return {i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], got["embeddings"])}


def assert_in_step(settings) -> None:
    """The loaded retriever's matrix row i is Chroma's vector of BM25 row i's chunk, for
    every committed chunk, and nothing else."""
    from medqa.retrieval.manifest import Manifest

    idx = open_retriever(settings)._current()
    stored = in_chroma(settings)
    m = Manifest(settings.index_dir)
    committed = m.chunk_ids()
    m.close()
    assert set(idx.bm25.ids) == committed == set(stored)
    assert idx.dense.matrix.shape == (len(committed), idx.embedder.dim)
    for row, cid in enumerate(idx.bm25.ids):
        np.testing.assert_array_equal(idx.dense.matrix[row], stored[cid])


def test_vectors_stay_in_step_through_reingest_sync_and_removal(hsettings, hospital_folder):
    ingest(hospital_folder, hsettings)
    assert_in_step(hsettings)
    (hospital_folder / "visiting.txt").write_text("Visiting is suspended during the outbreak.")
    (hospital_folder / "extra.md").write_text("# Night shift\n\nHandover happens at 8pm.\n")
    ingest(hospital_folder, hsettings)  # a changed file, a new one: fresh + reused vectors
    time.sleep(1.1)  # the retriever looks for a newer generation at most once a second
    assert_in_step(hsettings)
    r = open_retriever(hsettings)
    top = r.dense.search("visiting\nVisiting is suspended during the outbreak.", k=1)[0]
    assert top.text == "Visiting is suspended during the outbreak."  # what is indexed: title + text
    assert top.score == pytest.approx(1.0, abs=1e-5)
    (hospital_folder / "hand_hygiene.md").unlink()
    ingest(hospital_folder, hsettings, sync=True)
    time.sleep(1.1)
    assert_in_step(hsettings)
    assert not [p for p in r.dense.search("alcohol gel hands", k=20) if p.title == "Hand hygiene"]
    ingest("medquad", hsettings, limit=3)
    remove_source(hsettings, str(hospital_folder))
    time.sleep(1.1)
    assert_in_step(hsettings)
    assert {p.source for p in r.dense.search("hand hygiene visiting night shift", k=50)} != {"hospital"}


def test_vectors_missing_from_a_generation_are_rebuilt_from_chroma(hsettings, hospital_folder):
    from medqa.retrieval import bm25

    ingest(hospital_folder, hsettings)
    folder = hsettings.index_dir / bm25.pointer(hsettings.index_dir)["dir"]
    before = np.load(folder / VECTORS)
    (folder / VECTORS).unlink()  # as an index written before vectors were kept
    assert_in_step(hsettings)
    np.testing.assert_array_equal(np.load(folder / VECTORS), before)


def test_an_index_of_another_embedder_is_refused(hsettings, hospital_folder):
    from medqa.errors import ConfigError
    from medqa.retrieval import bm25

    ingest(hospital_folder, hsettings)
    folder = hsettings.index_dir / bm25.pointer(hsettings.index_dir)["dir"]
    meta = json.loads((folder / "vectors.json").read_text())
    (folder / "vectors.json").write_text(json.dumps({**meta, "embedder": "some-other-model"}))
    with pytest.raises(ConfigError) as e:
        open_retriever(hsettings)
    assert "some-other-model" in str(e.value.message)


def test_dense_equals_chroma_on_a_small_corpus(rsettings):
    """Exact in-memory search returns what Chroma's own query returns (HNSW is exact at
    this size), with the same cosines."""
    from medqa.retrieval.evaluate import load_questions

    ingest("medquad", rsettings, limit=4)
    r = open_retriever(rsettings)
    idx = r._current()
    questions = [q["question"] for q in load_questions("medquad_retrieval_dev", rsettings)][:15]
    for q in questions + ["What are the symptoms of leukemia?"]:
        vec = idx.embedder.embed_query(q)
        ids, sims = idx.store.query(vec, 10)
        got = r.dense.search(q, k=10)
        assert [p.id for p in got] == ids
        assert [p.score for p in got] == pytest.approx(sims, abs=1e-4)
        coarse = DenseIndex(idx.dense.matrix, coarse_min_rows=0)
        rows, _ = coarse.top(vec, 10)
        assert [idx.bm25.ids[i] for i in rows] == ids


def test_a_generation_keeps_tokens_for_the_next_rebuild(hsettings, hospital_folder, monkeypatch):
    from medqa.retrieval import bm25

    ingest(hospital_folder, hsettings)
    kept = bm25._current_tokens(hsettings.index_dir)
    index = bm25.BM25Index(hsettings.index_dir)
    assert kept is not None and set(kept.span) == set(index.ids)
    row = index.ids.index(open_retriever(hsettings).bm25.search("lactate", k=1)[0].id)
    s, e = kept.span[index.ids[row]]
    assert "lactate" in [kept.words[i] for i in kept.flat[s:e]]
    monkeypatch.setattr(bm25, "tokenizer_key", lambda: "another tokenizer")
    assert bm25._current_tokens(hsettings.index_dir) is None  # never reused across tokenizers


def test_an_index_of_another_recipe_of_the_same_embedder_is_refused(hsettings, hospital_folder):
    from medqa.errors import ConfigError
    from medqa.retrieval import bm25

    ingest(hospital_folder, hsettings)
    folder = hsettings.index_dir / bm25.pointer(hsettings.index_dir)["dir"]
    meta = json.loads((folder / "vectors.json").read_text())
    assert meta["embedder_version"]  # written with every index
    (folder / "vectors.json").write_text(json.dumps({**meta, "embedder_version": "onnx:old-recipe"}))
    with pytest.raises(ConfigError) as e:
        open_retriever(hsettings).search("hand hygiene", k=1)
    assert "onnx:old-recipe" in str(e.value.message) and "ingest" in str(e.value.hint)


def test_ingest_refuses_a_store_built_by_another_recipe(hsettings, hospital_folder):
    from medqa.errors import ConfigError
    from medqa.retrieval.store import ChromaStore
    from tests.retrieval.retrieval_helpers import HashingEmbedder

    ingest(hospital_folder, hsettings)

    class Rerecipe(HashingEmbedder):
        version = "md5-bag-of-words-v2"

    with pytest.raises(ConfigError) as e:
        ChromaStore(hsettings, Rerecipe())
    assert "md5-bag-of-words" in str(e.value.message) and "v2" in str(e.value.message)


def test_a_question_nothing_indexed_is_about_gets_no_passage(rsettings):
    """MiniLM's relevance floor: off-topic and Chinese questions against an English corpus
    get no passage rather than the least bad ones; in-domain ones are untouched."""
    ingest("medquad", rsettings, limit=4)
    r = open_retriever(rsettings)
    assert r.search("What is the treatment for adult acute lymphoblastic leukemia?", k=3)
    assert r.search("How do I reset my wifi password?", k=3) == []
    assert r.search("白血病怎么治疗？", k=3) == []
    no_floor = make_settings(rsettings.home, min_relevance=0.0)
    assert open_retriever(no_floor).search("How do I reset my wifi password?", k=3)
