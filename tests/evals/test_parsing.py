"""Answer parsing: English, Chinese, option text, yes/no/maybe, and refusal to guess."""
from __future__ import annotations

import pytest

from medqa.evals.parsing import parse_choice

DRUGS = {"A": "Aspirin", "B": "Heparin", "C": "Warfarin", "D": "Clopidogrel"}
YNM = {"A": "yes", "B": "no", "C": "maybe"}


@pytest.mark.parametrize(
    "text,options,want",
    [
        ("Answer: B", DRUGS, "B"),
        ("(b)", DRUGS, "B"),
        ("the answer is b.", DRUGS, "B"),
        ("B", DRUGS, "B"),
        ("**C**", DRUGS, "C"),
        ("B. Heparin, because it acts at once.", DRUGS, "B"),
        ("Option D is correct", DRUGS, "D"),
        ("The correct option is c", DRUGS, "C"),
        ("**Final answer: (c)**", DRUGS, "C"),
        ("The answer is **b**", DRUGS, "B"),
        ("A is tempting, B is wrong, so the answer is D.", DRUGS, "D"),
        ("Answer: A. On reflection, the answer is C.", DRUGS, "C"),  # the last statement wins
        ('{"step_by_step_thinking": "...", "answer_choice": "C"}', DRUGS, "C"),
        ("<think>the answer is A</think>Answer: D", DRUGS, "D"),
        ("I would give warfarin here.", DRUGS, "C"),
        ("答案：C", DRUGS, "C"),
        ("答案是 b", DRUGS, "B"),
        ("选C", DRUGS, "C"),
        ("综上所述，故选 B。", DRUGS, "B"),
        ("正确答案为（D）", DRUGS, "D"),
        ("Yes, it is valuable.", YNM, "A"),
        ("No.", YNM, "B"),
        ("maybe", YNM, "C"),
        ("Answer: yes", YNM, "A"),
        ("The answer is: maybe", YNM, "C"),
    ],
)
def test_parses(text, options, want):
    assert parse_choice(text, options) == want


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "I am not sure.",
        "The answer is a drug that thins the blood.",  # the article "a" is not option A
        "Heparin or warfarin could both be used.",  # two options named: no commitment
        "Answer: E",  # not one of the options
    ],
)
def test_refuses_to_guess(text):
    assert parse_choice(text, DRUGS) is None


def test_only_offered_letters_count():
    assert parse_choice("Answer: D", YNM) is None
    assert parse_choice("Answer: C", YNM) == "C"
