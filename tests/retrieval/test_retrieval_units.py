"""Pure parts against hand-computed answers: RRF, document ranking, intent, tokenizer."""
from __future__ import annotations

import pytest

from medqa.retrieval.fusion import rrf
from medqa.retrieval.intent import wanted_headings
from medqa.retrieval.ranking import DocIndex, RankParams, rank
from medqa.retrieval.tokenize import tokenize


def test_rrf_equals_hand_computed_ranks():
    fused = rrf([["a", "b", "c"], ["c", "a", "d"]], k=60)
    expected = {"a": 1 / 61 + 1 / 62, "b": 1 / 62, "c": 1 / 63 + 1 / 61, "d": 1 / 63}
    assert [x for x, _ in fused] == ["a", "c", "b", "d"]
    for item, score in fused:
        assert score == pytest.approx(expected[item])


def test_weighted_rrf_changes_the_winner():
    fused = rrf([["a", "b"], ["b", "a"]], k=1, weights=[1.0, 2.0])
    # a: 1/2 + 2/3 = 1.1667; b: 1/3 + 2/2 = 1.3333
    assert [x for x, _ in fused] == ["b", "a"]
    assert fused[0][1] == pytest.approx(1 / 3 + 1.0)
    with pytest.raises(ValueError):
        rrf([["a"]], weights=[1.0, 2.0])


def _index() -> DocIndex:
    # rows: 0,1 = GARD twin (Overview, Symptoms); 2,3 = GHR twin (Overview, Frequency);
    # 4 = an unrelated document whose title is a prefix of the asked one
    return DocIndex(
        ["GARD:1", "GARD:1", "GHR:1", "GHR:1", "GARD:2"],
        ["Cri du chat syndrome", "Cri du chat syndrome", "cri-du-chat syndrome",
         "cri-du-chat syndrome", "Cri du chat"],
        ["Overview", "Symptoms", "Overview", "Frequency", "Overview"])


def test_plain_rank_is_chunk_rrf_grouped_by_document():
    p = RankParams(rrf_k=60, w_dense=1.0, doc_rest=0, title=0, heading=0, chunk_heading=0)
    out = rank("anything", [2, 0, 4], [0, 3], _index(), p)
    # chunk scores: row0 = 1/62 + 1/61, row2 = 1/61, row3 = 1/62, row4 = 1/63
    assert [r for r, _ in out] == [0, 2, 3, 4]
    assert out[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert out[1][1] == out[2][1] == pytest.approx(1 / 61)  # a document's rows share its score


def test_section_type_picks_the_twin_that_has_it():
    idx = _index()
    q = "What are the symptoms of cri-du-chat syndrome ?"
    plain = rank(q, [2, 3, 0], [2, 0], idx, RankParams(title=0, heading=0, chunk_heading=0))
    assert idx.doc_of[plain[0][0]] == idx.docs.index("GHR:1")
    boosted = rank(q, [2, 3, 0], [2, 0], idx, RankParams(title=0, heading=0.01,
                                                         chunk_heading=0.005))
    assert boosted[0][0] == 1  # GARD's Symptoms chunk leads


def test_title_in_question_prefers_the_longest_title_and_adds_missed_documents():
    idx = _index()
    out = rank("How many people are affected by cri du chat syndrome ?", [4], [4], idx,
               RankParams(heading=0, chunk_heading=0, title=0.5))
    docs = [idx.docs[idx.doc_of[r]] for r, _ in out]
    assert docs[0] in {"GARD:1", "GHR:1"}  # never retrieved, but named in full
    assert docs.index("GARD:2") > docs.index("GARD:1")
    assert idx.titles_in("what is cri du chat syndrome") == {0: 4, 1: 4, 2: 3}


@pytest.mark.parametrize("question, wanted", [
    ("What are the symptoms of Warfarin syndrome ?", {"Symptoms"}),
    ("What are the treatments for Krabbe disease ?", {"Treatment"}),
    ("Is congenital central hypoventilation syndrome inherited ?", {"Inheritance"}),
    ("What are the genetic changes related to Cushing disease ?", {"Genetic changes"}),
    ("How many people are affected by juvenile primary lateral sclerosis ?", {"Frequency"}),
    ("What is the outlook for Krabbe Disease ?", {"Outlook"}),
    ("What is (are) Cough ?", {"Overview"}),
    ("糖尿病的症状有哪些？", {"Symptoms"}),
    ("hand hygiene", set()),
])
def test_wanted_headings(question, wanted):
    assert wanted_headings(question) == wanted


def test_tokenizer_english_and_chinese():
    assert tokenize("What are the Symptoms of diabetes?") == ["what", "symptom", "diabete"]
    assert tokenize("Diseases' studies") == ["disease", "study"]
    zh = tokenize("糖尿病的症状是什么")
    assert "糖尿病" in zh and "症状" in zh and "的" not in zh
    assert tokenize("the of and") == []


def _rows(texts: list[tuple[str, str | None, str]]) -> list[tuple]:
    # manifest rows: (id, text, doc_id, title, source, url, heading, page, path)
    return [(f"c{i}", text, f"d{i // 3}", title, "s", None, heading, None, None)
            for i, (title, heading, text) in enumerate(texts)]


def _medquad_rows(n_docs: int) -> list[tuple]:
    import gzip
    import json
    import os
    from pathlib import Path

    out = []
    with gzip.open(Path(os.environ["MEDQA_DATA_DIR"]) / "corpus" / "medquad_corpus.jsonl.gz", "rt") as f:
        for line, _ in zip(f, range(n_docs)):
            d = json.loads(line)
            out += [(d["title"], s.get("heading"), s["text"][:1200]) for s in d["sections"]]
    out += [("糖尿病", "症状", "糖尿病的症状包括多饮、多尿和体重减轻。"), ("the of", None, "and the")]
    return _rows(out)


def test_numpy_bm25_equals_bm25s():
    """Our vectorised build gives bm25s's own arrays, bit for bit, word by word."""
    import bm25s
    import numpy as np

    from medqa.retrieval.bm25 import bm25_model, tokenized

    rows = _medquad_rows(40)
    flat, lengths, words = tokenized(rows)
    ours = bm25_model(flat, lengths, words)
    ends = np.cumsum(lengths)
    ref = bm25s.BM25()
    ref.index([[words[i] for i in flat[e - n:e]] for e, n in zip(ends, lengths)],
              show_progress=False)
    assert set(ours.vocab_dict) == set(ref.vocab_dict)
    a, b = ours.scores, ref.scores
    assert a["num_docs"] == b["num_docs"] == len(rows)
    for w, j in ours.vocab_dict.items():
        if w:
            k = ref.vocab_dict[w]
            assert np.array_equal(a["indices"][a["indptr"][j]:a["indptr"][j + 1]],
                                  b["indices"][b["indptr"][k]:b["indptr"][k + 1]])
            assert np.array_equal(a["data"][a["indptr"][j]:a["indptr"][j + 1]],
                                  b["data"][b["indptr"][k]:b["indptr"][k + 1]])
    q = tokenize("What are the symptoms of leukemia? 糖尿病")
    assert np.array_equal(ours.get_scores(q), ref.get_scores(q))
    assert len(lengths) == len(rows) and lengths[-1] == 0  # a chunk of stopwords only


def test_rebuild_reuses_tokens_of_unchanged_chunks(monkeypatch):
    import numpy as np

    from medqa.retrieval import bm25

    rows = _medquad_rows(10)
    flat, lengths, words = bm25.tokenized(rows)
    ends = np.cumsum(lengths).tolist()
    previous = bm25.Tokens(dict(zip([r[0] for r in rows], zip([0, *ends[:-1]], ends))),
                           flat, words)
    calls = []
    monkeypatch.setattr(bm25, "tokenize", lambda text: calls.append(text) or tokenize(text))
    new = _rows([("Night shift", "Handover", "Handover happens at 8pm on the wards.")])
    new = [(f"new{i}", *r[1:]) for i, r in enumerate(new)]
    kept = rows[5:]  # the first five chunks are gone, one is new
    f2, l2, w2 = bm25.tokenized(kept + new, previous)
    assert len(calls) == 1  # only the new chunk was tokenized
    fresh = bm25.tokenized(kept + new)
    monkeypatch.undo()
    # the same tokens and no word that only removed chunks had
    assert [[w2[i] for i in f2[e - n:e]] for e, n in zip(np.cumsum(l2), l2)] == \
        [[fresh[2][i] for i in fresh[0][e - n:e]] for e, n in zip(np.cumsum(fresh[1]), fresh[1])]
    assert sorted(w2) == sorted(fresh[2])
