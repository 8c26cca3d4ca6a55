"""What kind of section a question asks for, from its wording alone (symptoms, treatment...).

Hand-written patterns over the question text; they never see labels. The headings are the
section names the loaders keep (MedQuAD's, and any hospital file that uses the same words).
"""
from __future__ import annotations

import re

# (pattern, headings it asks for), checked in order; a question may ask for several.
_RULES: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = tuple(
    (re.compile(p), frozenset(h)) for p, h in (
        (r"\bsymptom|\bsigns?\b|症状|表现", {"Symptoms"}),
        (r"\btreat|\btherap|\bcure\b|\bmanag|治疗|疗法", {"Treatment"}),
        (r"\binherit|遗传", {"Inheritance"}),
        (r"\bgenetic changes?\b|\bgenes?\b|\bmutations?\b|基因", {"Genetic changes"}),
        (r"\bhow many people\b|\bhow common\b|\bfrequen|\bprevalen|发病率", {"Frequency"}),
        (r"\bwhat causes\b|\bcauses? of\b|\bcaused\b|\bwhy do\b|病因|原因", {"Causes"}),
        (r"\boutlook\b|\bprognosis\b|\blife expectancy\b|预后", {"Outlook"}),
        (r"\bdiagnos|\btests?\b|\bexams?\b|诊断|检查", {"Exams and tests"}),
        (r"\bresearch\b|\bclinical trials?\b|研究", {"Research"}),
        (r"\bprevent|预防", {"Prevention"}),
        (r"\bat risk\b|\brisk factors?\b|\bwho gets\b|风险", {"Who is at risk"}),
        (r"\bstages?\b|分期", {"Stages"}),
        (r"\bcomplications?\b|并发症", {"Complications"}),
        (r"\bwhat to do\b|\bdiet\b|\beat\b|\bnutrition\b", {"Considerations"}),
        (r"\bsupport groups?\b", {"Support groups"}),
    )
)
_OVERVIEW = re.compile(r"^\s*(what is|what are|what's|do you have information|tell me about)\b"
                       r"|是什么|什么是")


def wanted_headings(question: str) -> frozenset[str]:
    """Section headings the question asks for; Overview for a plain "what is X"."""
    q = question.lower()
    out: set[str] = set()
    for pattern, headings in _RULES:
        if pattern.search(q):
            out |= headings
    if not out and _OVERVIEW.search(q):
        out.add("Overview")
    return frozenset(out)
