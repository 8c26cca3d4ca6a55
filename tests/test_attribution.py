"""Citations: the model's [n] markers, and medqa's matches for sentences it left unmarked."""
from __future__ import annotations

from medqa.attribution import citations_for, sentences, support, with_markers
from medqa.types import Passage


def passage(i: int, text: str, title: str = "") -> Passage:
    return Passage(id=f"p{i}", text=text, doc_id=f"d{i}", title=title or f"doc {i}", source="test")


SHOWN = [
    passage(1, "Glaucoma is a group of diseases that damage the optic nerve. Open-angle glaucoma "
               "has no early symptoms; regular eye exams with dilation find it early."),
    passage(2, "Metformin is a first-line medicine for type 2 diabetes. Common side effects "
               "include nausea, diarrhoea and stomach upset, which often settle within weeks."),
    passage(3, "高血压患者应减少食盐摄入，每天食盐不超过5克，并坚持规律运动和按时服药。"),
]


def test_model_markers_come_first_and_point_at_shown_passages() -> None:
    cites = citations_for("Metformin often causes nausea [2]. See also [7].", SHOWN)
    assert [(c.n, c.how) for c in cites] == [(2, "model")]  # [7] was never shown


def test_unmarked_sentence_is_matched_to_the_passage_holding_its_words() -> None:
    text = "Open-angle glaucoma damages the optic nerve and has no early symptoms. I hope this helps."
    cites = citations_for(text, SHOWN)
    assert [(c.n, c.how) for c in cites] == [(1, "matched")]
    assert cites[0].sentence == "Open-angle glaucoma damages the optic nerve and has no early symptoms."


def test_chinese_sentences_are_matched_by_character_bigrams() -> None:
    cites = citations_for("高血压患者每天食盐不超过5克。还要按时服药。", SHOWN)
    assert [(c.n, c.how) for c in cites] == [(3, "matched")]


def test_unsupported_and_thin_sentences_stay_uncited() -> None:
    assert citations_for("Aspirin thins the blood and protects against strokes.", SHOWN) == ()
    assert citations_for("I am not sure.", SHOWN) == ()
    assert citations_for("Glaucoma damages the optic nerve.", []) == ()


def test_a_passage_the_model_cited_is_not_matched_again() -> None:
    text = "Metformin is first-line for type 2 diabetes [2]. Its side effects include nausea and diarrhoea."
    assert [(c.n, c.how) for c in citations_for(text, SHOWN)] == [(2, "model")]


def test_support_is_the_share_of_sentence_terms_in_the_passage() -> None:
    assert support("glaucoma damages the optic nerve", SHOWN[0].text) == 1.0
    assert support("aspirin prevents migraine attacks", SHOWN[0].text) == 0.0
    assert sentences("One. Two!\n三。四？") == ["One.", "Two!", "三。", "四？"]


def test_markers_are_placed_after_the_matched_sentence_for_display() -> None:
    text = "Open-angle glaucoma damages the optic nerve and has no early symptoms. Ask your doctor."
    shown = with_markers(text, citations_for(text, SHOWN))
    assert shown == ("Open-angle glaucoma damages the optic nerve and has no early symptoms. [1] "
                     "Ask your doctor.")
