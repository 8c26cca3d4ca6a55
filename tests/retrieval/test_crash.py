"""SIGKILL half-way through an ingest, then ingest again: the index equals one clean run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from medqa.retrieval.dense import VECTORS
from medqa.retrieval.ingest import ingest

from conftest import make_settings

HERE = Path(__file__).parent
# Runs an ingest that kills itself (SIGKILL, no cleanup) at a chosen point.
CHILD = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import retrieval_helpers
from medqa.config import load_settings
from medqa.retrieval import bm25, ingest as ing
from medqa.retrieval.manifest import Manifest
where, home = sys.argv[2], sys.argv[3]
settings = load_settings(home=home, retrieval={"embedding_model": "test-hashing"})
calls = {"n": 0}
ing.BATCH_CHUNKS = 64  # small batches: the kill lands with most of the corpus still to do
if where == "before_commit":  # Chroma holds the batch, the manifest does not
    real = Manifest.commit_docs
    def commit(self, origin, docs):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, origin, docs)
    Manifest.commit_docs = commit
elif where == "in_bm25":  # everything committed, BM25 half written
    real_save = __import__("bm25s").BM25.save
    def save(self, path, **kw):
        real_save(self, path, **kw)
        os.kill(os.getpid(), signal.SIGKILL)
    __import__("bm25s").BM25.save = save
ing.ingest("medquad", settings, limit=int(sys.argv[4]))
print("finished without being killed")
"""
DOCS = 40  # ~230 chunks: four batches of 64 in the killed run


def snapshot(settings) -> dict:
    """Everything the index holds, in a comparable form."""
    from medqa.retrieval.bm25 import BM25Index
    from medqa.retrieval.manifest import Manifest
    from medqa.retrieval.store import ChromaStore
    from medqa.retrieval.embeddings import get_embedder

    store = ChromaStore(settings, get_embedder(settings.retrieval.embedding_model))
    got = store.col.get(include=["documents", "metadatas", "embeddings"])
    chroma = sorted((i, d, json.dumps(m, sort_keys=True), tuple(round(float(x), 5) for x in e))
                    for i, d, m, e in zip(got["ids"], got["documents"], got["metadatas"],
                                          got["embeddings"]))
    m = Manifest(settings.index_dir)
    chunks = sorted(m.iter_chunks())
    docs = sorted(m.db.execute("SELECT doc_id, origin, hash, n_chunks FROM docs"))
    m.close()
    bm = BM25Index(settings.index_dir)
    vectors = np.load(bm.folder / VECTORS)  # the in-memory dense search's rows, BM25 order
    return {"chroma": chroma, "chunks": chunks, "docs": docs, "bm25_ids": bm.ids,
            "bm25_scores": [round(float(x), 4) for x in bm.scores(["leukemia", "symptom"])],
            "dense": [tuple(round(float(x), 5) for x in v) for v in vectors]}


@pytest.mark.parametrize("where", ["before_commit", "in_bm25"])
def test_sigkill_then_rerun_equals_clean_run(where, tmp_path):
    clean = make_settings(tmp_path / "clean", "test-hashing")
    ingest("medquad", clean, limit=DOCS)
    expected = snapshot(clean)
    assert len(expected["chroma"]) > 3 * 64  # the kill at the 2nd commit lands half-way

    home = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(HERE.parent.parent)}
    child = subprocess.run([sys.executable, "-c", CHILD, str(HERE), where, str(home), str(DOCS)],
                           env=env, capture_output=True, text=True, timeout=300)
    assert child.returncode == -9, child.stderr[-2000:]  # it really died of SIGKILL
    killed = make_settings(home, "test-hashing")
    rerun = ingest("medquad", killed, limit=DOCS)
    assert rerun.added == 0 if where == "in_bm25" else 0 < rerun.added < len(expected["chroma"])
    assert snapshot(killed) == expected
