"""The option-scoring prompt: plain text ending in "Answer:", letters as the next token."""
from __future__ import annotations

from medqa.evals import prompts
from medqa.evals.datasets import EvalItem
from medqa.types import Passage


def _item(lang: str = "en") -> EvalItem:
    return EvalItem(id="medqa/1", dataset="t", task="medqa", question="Which drug?", lang=lang,
                    options={"B": "Aspirin", "A": "Insulin"}, answer="A")


def test_score_prompt_is_plain_text_with_spaced_letters():
    text, conts = prompts.score_prompt(_item(), [])
    assert text == "Question: Which drug?\nA. Insulin\nB. Aspirin\nAnswer:"
    assert conts == [" A", " B"]


def test_score_prompt_puts_passages_first_and_chinese_letters_unspaced():
    text, _ = prompts.score_prompt(_item(), [Passage(id="d#0", text="Insulin lowers glucose.", doc_id="d", title="T", source="s")])
    assert text.startswith("Relevant documents:\n[1] T: Insulin lowers glucose.\n\nQuestion:")
    text, conts = prompts.score_prompt(_item("zh"), [])
    assert text.endswith("答案：") and conts == ["A", "B"]
