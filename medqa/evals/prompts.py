"""Evaluation prompts (English and Chinese), versioned: the version is part of a run's config hash."""
from __future__ import annotations

from typing import Sequence

from medqa.evals.datasets import EvalItem
from medqa.types import Message, Passage

PROMPT_VERSION = "v2"
PASSAGE_CHARS = 600  # per passage: on 2 cores every prompt token costs ~10 ms on the 1.5B

_SYSTEM = {
    "en": "You are a medical expert answering multiple-choice exam questions.",
    "zh": "你是一名医学专家，正在回答医学考试的单项选择题。",
}
_COT_ASK = {
    "en": "Think step by step in a few sentences, then end with a last line of the form "
    "'Answer: X', where X is the letter of the correct option.",
    "zh": "请简要逐步分析，最后单独一行写出“答案：X”，X 为正确选项的字母。",
}
_DOCS = {"en": "Relevant documents:", "zh": "相关资料："}
_QUESTION = {"en": "Question:", "zh": "题目："}
_OPTIONS = {"en": "Options:", "zh": "选项："}


def _passages_block(passages: Sequence[Passage], lang: str) -> str:
    lines = [_DOCS[lang]]
    for i, p in enumerate(passages, 1):
        text = " ".join(p.text.split())
        if len(text) > PASSAGE_CHARS:
            text = text[:PASSAGE_CHARS].rsplit(" ", 1)[0] + " ..."
        title = f"{p.title}: " if p.title else ""
        lines.append(f"[{i}] {title}{text}")
    return "\n".join(lines) + "\n\n"


def user_text(item: EvalItem, passages: Sequence[Passage]) -> str:
    """The chain-of-thought user turn: optional passages, the question, the lettered options, the ask."""
    lang = item.lang if item.lang in _SYSTEM else "en"
    docs = _passages_block(passages, lang) if passages else ""
    opts = "\n".join(f"{k}. {v}" for k, v in sorted(item.options.items()))
    return f"{docs}{_QUESTION[lang]} {item.question}\n\n{_OPTIONS[lang]}\n{opts}\n\n{_COT_ASK[lang]}"


def messages(item: EvalItem, passages: Sequence[Passage]) -> list[Message]:
    """System and user turns for one chain-of-thought question (through the model's chat template)."""
    lang = item.lang if item.lang in _SYSTEM else "en"
    return [Message("system", _SYSTEM[lang]), Message("user", user_text(item, passages))]


def score_prompt(item: EvalItem, passages: Sequence[Passage]) -> tuple[str, list[str]]:
    """Prompt text and option continuations for option scoring.

    Plain text, no chat template, no instruction: optional passages, "Question: ...", the
    lettered options, then "Answer:", and the options are " A", " B", ... (how a letter
    follows a colon in running text). Chosen on mirage_train, never on the subset
    (evals/reports/prompt_study): against the chat template the 1.5B chose "B" 35% of the
    time instead of 54% (gold 22%), at about the same accuracy, with fewer prompt tokens.
    """
    lang = item.lang if item.lang in _SYSTEM else "en"
    docs = _passages_block(passages, lang) if passages else ""
    opts = "\n".join(f"{k}. {v}" for k, v in sorted(item.options.items()))
    tail, sep = ("答案：", "") if lang == "zh" else ("Answer:", " ")
    return f"{docs}{_QUESTION[lang]} {item.question}\n{opts}\n{tail}", [sep + x for x in sorted(item.options)]
