"""Evaluation prompts (English and Chinese), versioned: the version is part of a run's config hash."""
from __future__ import annotations

from typing import Sequence

from medqa.evals.datasets import EvalItem
from medqa.types import Message, Passage

PROMPT_VERSION = "v1"
PASSAGE_CHARS = 600  # per passage: on 2 cores every prompt token costs ~10 ms on the 1.5B

_SYSTEM = {
    "en": "You are a medical expert answering multiple-choice exam questions.",
    "zh": "你是一名医学专家，正在回答医学考试的单项选择题。",
}
_SCORE_ASK = {
    "en": "Answer with the letter of the correct option only.",
    "zh": "请直接给出正确答案的选项字母。",
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


def user_text(item: EvalItem, passages: Sequence[Passage], mode: str) -> str:
    """The user turn: optional passages, the question, the lettered options, the ask."""
    lang = item.lang if item.lang in _SYSTEM else "en"
    docs = _passages_block(passages, lang) if passages else ""
    opts = "\n".join(f"{k}. {v}" for k, v in sorted(item.options.items()))
    ask = _SCORE_ASK[lang] if mode == "score" else _COT_ASK[lang]
    return f"{docs}{_QUESTION[lang]} {item.question}\n\n{_OPTIONS[lang]}\n{opts}\n\n{ask}"


def messages(item: EvalItem, passages: Sequence[Passage], mode: str) -> list[Message]:
    """System and user turns for one question."""
    lang = item.lang if item.lang in _SYSTEM else "en"
    return [Message("system", _SYSTEM[lang]), Message("user", user_text(item, passages, mode))]


def score_prompt(render, item: EvalItem, passages: Sequence[Passage]) -> tuple[str, list[str]]:
    """Prompt text and option continuations for option scoring.

    With the model's chat template (`render`, from in-process engines) the letter is the
    assistant's first token; without one, a plain-text prompt ends in "Answer:" and the
    options are " A", " B", ... (how the letter follows a colon in running text).
    """
    letters = sorted(item.options)
    msgs = messages(item, passages, "score")
    if render is not None:
        return render(msgs), letters
    lang = item.lang if item.lang in _SYSTEM else "en"
    tail = "答案：" if lang == "zh" else "Answer:"
    sep = "" if lang == "zh" else " "
    text = f"{msgs[0].content}\n\n{msgs[1].content}\n{tail}"
    return text, [sep + x for x in letters]
