"""Which passage supports which answer sentence: the model's own [n] markers first, then,
for sentences it left unmarked, the shown passage that contains most of their words.

Small models often answer from the documents without writing [n]. Rather than show such an
answer as uncited, each unmarked sentence is matched to the passage holding the largest share
of its content words (English word stems, Chinese character bigrams); a match above
`THRESHOLD` becomes a citation marked `how="matched"`, which every front end labels as
medqa's, not the model's. Sentences nothing supports stay uncited.
"""
from __future__ import annotations

import re
from typing import Sequence

from medqa.types import Citation, Passage

THRESHOLD = 0.5  # share of the sentence's content terms found in the passage
MIN_TERMS = 3  # shorter sentences ("I am not sure.") are too thin to attribute
_CITE = re.compile(r"\[(\d+(?:\s*[,，、]\s*\d+)*)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*|\n+")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_STOP = frozenset(
    "the and for are was were with that this from have has had not but can may might will would "
    "should could into onto about your you their they them its it's than then there these those "
    "which who whom what when where why how also such other some any all each more most very "
    "been being does did done our out over under only own same too just both few per via use "
    "used uses using include includes including".split()
)


def cited_numbers(text: str) -> list[int]:
    """Numbers cited as [n] or [n, m] in text, in order of first appearance."""
    seen: list[int] = []
    for group in _CITE.findall(text):
        for n in re.split(r"\s*[,，、]\s*", group):
            if int(n) not in seen:
                seen.append(int(n))
    return seen


def sentences(text: str) -> list[str]:
    """The text cut at sentence ends (English and Chinese punctuation) and line breaks."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _stem(word: str) -> str:
    """A crude English stem, enough to meet 'damages', 'damaged' and 'damage' as one term."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "es" and not word[:-2].endswith(("s", "x", "z", "ch", "sh")):
                continue  # 'damages' loses only its s
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def terms(text: str) -> set[str]:
    """Content terms: English word stems of 3+ letters (not stop words) and Chinese bigrams."""
    low = _CITE.sub(" ", text.lower())
    out = {_stem(w) for w in _WORD.findall(low) if len(w) >= 3 and w not in _STOP}
    for run in _CJK_RUN.findall(low):
        out.update(run[i:i + 2] for i in range(len(run) - 1))
    return out


def support(sentence: str, passage: str) -> float:
    """Share of the sentence's content terms that appear in the passage (0 when too short)."""
    s = terms(sentence)
    return len(s & terms(passage)) / len(s) if len(s) >= MIN_TERMS else 0.0


def citations_for(text: str, shown: Sequence[Passage]) -> tuple[Citation, ...]:
    """The model's [n] citations of shown passages, then matched ones for unmarked sentences."""
    cited = [Citation(n, shown[n - 1]) for n in cited_numbers(text) if 1 <= n <= len(shown)]
    taken = {c.n for c in cited}
    shown_terms = [terms(p.text + " " + p.title) for p in shown]
    for sent in sentences(text):
        s = terms(sent)
        if _CITE.search(sent) or len(s) < MIN_TERMS:
            continue
        shares = [len(s & p) / len(s) for p in shown_terms]
        best = max(range(len(shares)), key=shares.__getitem__, default=None)
        if best is not None and shares[best] >= THRESHOLD and best + 1 not in taken:
            taken.add(best + 1)
            cited.append(Citation(best + 1, shown[best], how="matched", sentence=sent))
    return tuple(cited)


def with_markers(text: str, citations: Sequence[Citation]) -> str:
    """The answer for display: each matched citation's [n] placed after its sentence."""
    for c in citations:
        if c.how == "matched" and c.sentence:
            at = text.find(c.sentence)
            if at >= 0:
                end = at + len(c.sentence)
                text = f"{text[:end]} [{c.n}]{text[end:]}"
    return text
