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
