"""Robust answer parsing: a model's free text (English or Chinese) to one option letter, or None.

Order matters: an explicit answer statement beats a bare letter, and the LAST explicit
statement wins (chain-of-thought often weighs options before concluding). A reply we
cannot read is None, never a guess: the scorer decides what None counts as.
"""
from __future__ import annotations

import json
import re
from typing import Mapping

_THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)
_WS = re.compile(r"\s+")


def _letters(options: Mapping[str, str]) -> str:
    return "".join(sorted(k.upper() for k in options))


def _letter_patterns(L: str) -> list[re.Pattern[str]]:
    # An uppercase letter may stand anywhere after a marker; a lowercase one only when it
    # cannot be the article "a" ("the answer is a drug..."): bracketed or before punctuation/end.
    up = f"[{L}]"
    low = f"[{L.lower()}]"
    # (?-i:...) keeps the letter case-sensitive inside the case-insensitive marker pattern.
    letter = rf"(?-i:\(?({up})\)?(?![A-Za-z])|\(({low})\)|({low})(?=\s*(?:[.,;:)\]*]|$)))"
    marker = (
        r"(?:answer(?:[ _]choice)?|correct (?:answer|option|choice)|final answer|"
        r"best (?:answer|option|choice)|option|choice)"
    )
    return [
        # "Answer: B", "the answer is (b).", "correct option is C", "Final answer: **D**"
        re.compile(rf"{marker}\W{{0,3}}(?:is|would be|should be|=)?\s*[:：]?\s*\**\s*{letter}", re.I),
        # Chinese: 答案：C / 答案是C / 正确答案为 C / 选C / 选择 C / 故选 B / 应选（D）
        re.compile(rf"(?:答案|正确选项|选项|选择|选)\s*(?:是|为|应为|应该是)?\s*[:：]?\s*[（(]?\s*([{L}{L.lower()}])(?![A-Za-z])"),
    ]


def _norm(s: str) -> str:
    return _WS.sub(" ", s).strip().strip(".。").lower()


def _match_option_text(text: str, options: Mapping[str, str]) -> str | None:
    """The letter whose option text the reply names, when exactly one is named."""
    t = _norm(text)
    norm = {k: _norm(v) for k, v in options.items() if _norm(v)}
    # The reply IS an option's text, or starts with it ("Yes, because ...").
    for k, v in norm.items():
        if t == v:
            return k
    # "Yes, because ..." commits; "Heparin or warfarin ..." does not: punctuation must follow.
    starts = [k for k, v in norm.items() if re.match(rf"{re.escape(v)}\s*[,.;:!，。：]", t)]
    if len(starts) == 1:
        return starts[0]
    found = [k for k, v in norm.items() if re.search(rf"(?<![\w]){re.escape(v)}(?![\w])", t)]
    if len(found) == 1:
        return found[0]
    # Options nested in one another ("no" inside "no change"): the longest named one.
    if len(found) > 1:
        longest = max(found, key=lambda k: len(norm[k]))
        if all(norm[k] in norm[longest] for k in found):
            return longest
    return None


def _from_json(text: str, L: str) -> str | None:
    # MedRAG's prompt asks for {"step_by_step_thinking": ..., "answer_choice": "B"}.
    m = re.search(r"\{.*\}", text, re.S)
    if not m:
        return None
    try:
        obj = json.loads(m.group(0))
    except ValueError:
        return None
    val = obj.get("answer_choice") or obj.get("answer") if isinstance(obj, dict) else None
    if isinstance(val, str):
        v = val.strip().strip("().").upper()
        if len(v) == 1 and v in L:
            return v
    return None


def parse_choice(text: str | None, options: Mapping[str, str]) -> str | None:
    """The option letter a reply commits to, or None when it commits to none."""
    if not text:
        return None
    L = _letters(options)
    body = _THINK.sub(" ", text).strip()
    if not body:
        return None
    if (j := _from_json(body, L)) is not None:
        return j
    # The whole reply is a letter: "B", "(b)", "C.", "D)", "**A**".
    m = re.fullmatch(rf"\W*([{L}{L.lower()}])\W*", body)
    if m:
        return m.group(1).upper()
    for pat in _letter_patterns(L):
        hits = [next(g for g in h.groups() if g) for h in pat.finditer(body)]
        if hits:
            return hits[-1].upper()
    # Starts with a letter and a separator: "B. Because ...", "C) ...", "A: ...".
    m = re.match(rf"\W*([{L}])\s*[.):：、]", body)
    if m:
        return m.group(1)
    return _match_option_text(body, options)
