"""Language of a text: Chinese if a fair share of its letters are CJK, else English."""
from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_lang(text: str) -> str:
    """'zh' or 'en'. One CJK character counts as much as a short English word."""
    cjk = len(_CJK.findall(text))
    latin_words = len(_LATIN.findall(text)) / 5
    return "zh" if cjk and cjk >= latin_words * 0.5 else "en"
