"""Ingest into a real Chroma with the real MiniLM: formats, bad input, idempotence, sync."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medqa.errors import IndexMissing, QueryError
from medqa.retrieval.hybrid import index_status, list_sources, open_retriever, remove_source
from medqa.retrieval.ingest import ingest


def test_hospital_folder_bad_inputs_reported_and_the_rest_ingested(hsettings, hospital_folder):
    report = ingest(hospital_folder, hsettings)
    failed = {Path(name).name: reason for name, reason in report.failed}
    assert set(failed) == {"empty.txt", "binary.txt", "scanned.pdf", "unreadable.txt",
                           "gone.md", "formulary.jsonl:3"}
    assert "empty" in failed["empty.txt"]
    assert "binary" in failed["binary.txt"]
    assert "no text layer" in failed["scanned.pdf"]
    assert "cannot read" in failed["unreadable.txt"] and "cannot read" in failed["gone.md"]
    assert "malformed JSON" in failed["formulary.jsonl:3"]

    r = open_retriever(hsettings)
    titles = {p.title for p in r.bm25.search("hands lactate falls glucose visiting "
                                             "paracetamol ibuprofen footwear", k=50)}
    assert titles == {"Hand hygiene", "visiting", "Sepsis bundle", "falls", "Insulin protocol",
                      "Paracetamol", "Ibuprofen"}
    pdf = [p for p in r.bm25.search("footwear", k=3) if p.title == "falls"][0]
    assert pdf.page == 2 and pdf.path.endswith("falls.pdf") and pdf.source == "hospital"
    html = r.bm25.search("lactate", k=1)[0]
    assert (html.title, html.heading) == ("Sepsis bundle", "Recognition")
    ibu = r.bm25.search("ibuprofen food", k=1)[0]
    assert (ibu.doc_id, ibu.url) == ("form-2", "http://x/ibu")
    assert index_status(hsettings)["documents"] == 7


def test_reingest_adds_nothing_changed_file_replaced_sync_removes(hsettings, hospital_folder):
    first = ingest(hospital_folder, hsettings)
    assert first.added > 0 and first.removed == 0
    again = ingest(hospital_folder, hsettings)
    assert (again.added, again.removed, again.unchanged) == (0, 0, first.added)

    (hospital_folder / "visiting.txt").write_text("Visiting is suspended during the outbreak.")
    (hospital_folder / "hand_hygiene.md").unlink()
    changed = ingest(hospital_folder, hsettings)
    assert changed.added == 1 and changed.removed == 0  # no --sync: the deleted file stays
    r = open_retriever(hsettings)
    texts = [p.text for p in r.bm25.search("visiting", k=10)]
    assert texts == ["Visiting is suspended during the outbreak."]  # old chunk replaced

    synced = ingest(hospital_folder, hsettings, sync=True)
    assert synced.removed == 2 and synced.added == 0
    import time
    time.sleep(1.1)  # the retriever looks for a newer index at most once a second
    assert not [p for p in r.bm25.search("alcohol gel hands", k=10) if p.title == "Hand hygiene"]
    src = list_sources(hsettings)
    assert [s["source"] for s in src] == [str(hospital_folder.resolve())]
    assert remove_source(hsettings, str(hospital_folder)) == src[0]["chunks"]
    assert index_status(hsettings)["chunks"] == 0


def test_chroma_equals_brute_force_cosine(rsettings):
    from medqa.retrieval.chunking import chunk_document
    from medqa.retrieval.embeddings import get_embedder
    from medqa.retrieval.loaders import load_source

    ingest("medquad", rsettings, limit=3)
    r = open_retriever(rsettings)
    stored = r._index.store.col.get(include=["embeddings"])
    ids, matrix = stored["ids"], np.asarray(stored["embeddings"], dtype=np.float32)
    emb = get_embedder("minilm-st")
    # what was stored is the model's vector of title + heading + text, cut as index chunks
    first = chunk_document(next(iter(load_source("medquad", rsettings))), 1000, 100)[0]
    assert matrix[ids.index(first.id)] == pytest.approx(
        emb.embed_chunks([first.index_text])[0], abs=1e-5)
    for q in ("What are the symptoms of leukemia?", "How is breast cancer treated?",
              "Who is at risk for lung cancer?"):
        cos = matrix @ emb.embed_query(q)
        expected = [ids[i] for i in np.argsort(-cos)[:10]]
        got = r.dense.search(q, k=10)
        assert [p.id for p in got] == expected
        assert [p.score for p in got] == pytest.approx(sorted(cos, reverse=True)[:10], abs=1e-4)
    hybrid = r.search("What are the symptoms of adult acute lymphoblastic leukemia?", k=5)
    assert hybrid[0].doc_id == "CancerGov:0000001_1" and hybrid[0].heading == "Symptoms"
    assert hybrid[0].url.startswith("https://www.cancer.gov/")


def test_query_errors_and_missing_index(hsettings, hospital_folder):
    with pytest.raises(IndexMissing) as e:
        open_retriever(hsettings)
    assert "medqa ingest" in e.value.hint
    ingest(hospital_folder, hsettings)
    r = open_retriever(hsettings)
    for bad in ("", "   \n", "x" * 100_000):
        for retriever in (r, r.bm25, r.dense):
            with pytest.raises(QueryError) as e:
                retriever.search(bad)
            assert e.value.hint
    assert "100,000 characters" in str(QueryError and e.value.message)
