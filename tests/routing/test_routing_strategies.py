"""Strategies against hand-computed cases."""
from __future__ import annotations

import math

import pytest

from medqa.routing import strategies as st


def c(backbone, choice, conf=0.6, margin=0.3, text=None):
    return st.Candidate(backbone, text or choice, choice, conf, margin)


def test_option_scores_give_choice_confidence_and_margin():
    cand = st.from_option_scores("m", ["A", "B", "C"], [math.log(0.2), math.log(0.5), math.log(0.3)],
                                 {"A": "x", "B": "Aspirin", "C": "y"})
    assert cand.choice == "B" and cand.text == "B. Aspirin"
    assert cand.confidence == pytest.approx(0.5) and cand.margin == pytest.approx(0.2)
    with pytest.raises(ValueError):
        st.from_option_scores("m", ["A"], [0.0, 1.0])


def test_cascade_escalates_only_when_margin_is_low():
    cheap_sure, cheap_unsure, strong = c("cheap", "A", margin=0.5), c("cheap", "A", margin=0.05), c("big", "B")
    d = st.cascade([cheap_sure], min_margin=0.2)
    assert d.backbone == "cheap" and not d.escalated
    d = st.cascade([cheap_unsure, strong], min_margin=0.2)
    assert d.backbone == "big" and d.choice == "B" and d.escalated and d.agreement == 0.5
    assert st.needs_escalation(st.Candidate("x", "  "), 0.2) and not st.needs_escalation(st.Candidate("x", "ok"), 0.2)


def test_weighted_vote_and_agreement():
    cands = [c("a", "A"), c("b", "B"), c("d", "B")]
    d = st.vote(cands)
    assert d.choice == "B" and d.agreement == pytest.approx(2 / 3) and len(d.views) == 3
    # One well-calibrated backbone outweighs two weak ones that agree.
    d = st.vote(cands, weights={"a": 0.9, "b": 0.3, "d": 0.3})
    assert d.choice == "A" and d.backbone == "a" and d.agreement == pytest.approx(1 / 3)


def test_free_text_vote_groups_similar_answers():
    cands = [st.Candidate("a", "Take ibuprofen with food twice a day"),
             st.Candidate("b", "take ibuprofen twice a day with food"),
             st.Candidate("d", "See a cardiologist urgently")]
    d = st.vote(cands)
    assert d.backbone in {"a", "b"} and d.agreement == pytest.approx(2 / 3)


def test_abstain_says_the_models_disagree_and_shows_each_view():
    d = st.vote([c("a", "A", 0.7), c("b", "B", 0.6), c("d", "C", 0.5)])
    out = st.abstain(d, min_agreement=0.5)
    assert out.disagree and out.choice is None
    assert out.text.splitlines()[0].startswith("The models disagree")
    assert "- a (70%): A" in out.text and "- d (50%): C" in out.text
    assert st.abstain(d, 0.5, lang="zh").text.startswith("各模型意见不一致")
    agreed = st.vote([c("a", "A"), c("b", "A"), c("d", "C")])
    assert st.abstain(agreed, 0.5) == agreed
    assert st.abstain(st.single(c("a", "A")), 0.99).disagree is False
