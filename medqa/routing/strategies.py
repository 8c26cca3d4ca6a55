"""How several backbones' outputs become one answer: single, cascade, vote, abstain.

Pure functions over already-computed outputs (no model calls), so they are testable
against hand-computed cases and reusable offline by the evaluation table; the
executor in execute.py calls real backends and feeds these.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from medqa.types import View


@dataclass(frozen=True)
class Candidate:
    """One backbone's output: a chosen option (multiple choice) or free text."""

    backbone: str
    text: str
    choice: str | None = None
    confidence: float | None = None  # probability of `choice` among the options
    margin: float | None = None  # top-1 minus top-2 option probability
    cost: float = 0.0


@dataclass(frozen=True)
class Decision:
    """The combined answer, how many asked backbones agree with it, and every view."""

    backbone: str
    text: str
    choice: str | None
    agreement: float  # share of candidates agreeing with the answer, in [0, 1]
    views: tuple[View, ...]
    disagree: bool = False
    escalated: bool = False


def option_probs(logprobs: Sequence[float]) -> list[float]:
    """Softmax of per-option log-probabilities (renormalized over the options)."""
    if not logprobs:
        return []
    top = max(logprobs)
    exps = [math.exp(x - top) for x in logprobs]
    total = sum(exps)
    return [e / total for e in exps]


def from_option_scores(
    backbone: str, letters: Sequence[str], logprobs: Sequence[float],
    options: Mapping[str, str] | None = None, cost: float = 0.0,
) -> Candidate:
    """A Candidate from score_options' log-probs: choice, confidence and margin."""
    if len(letters) != len(logprobs) or not letters:
        raise ValueError(f"{len(letters)} options but {len(logprobs)} scores")
    probs = option_probs(logprobs)
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    best = order[0]
    second = probs[order[1]] if len(order) > 1 else 0.0
    letter = letters[best]
    text = f"{letter}. {options[letter]}" if options and letter in options else letter
    return Candidate(backbone, text, letter, probs[best], probs[best] - second, cost)


def _view(c: Candidate) -> View:
    return View(backbone=c.backbone, text=c.text, choice=c.choice, confidence=c.confidence)


_WORD = re.compile(r"[\u3400-\u9fff]|[a-z0-9]+")


def _tokens(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def same_answer(a: Candidate, b: Candidate, min_overlap: float = 0.5) -> bool:
    """Two candidates agree: same option, or free texts sharing >= min_overlap of words (Jaccard)."""
    if a.choice is not None or b.choice is not None:
        return a.choice == b.choice
    ta, tb = _tokens(a.text), _tokens(b.text)
    if not ta or not tb:
        return ta == tb
    return len(ta & tb) / len(ta | tb) >= min_overlap


def single(c: Candidate) -> Decision:
    """One backbone answered: it agrees with itself."""
    return Decision(c.backbone, c.text, c.choice, 1.0, (_view(c),))


Margins = float | Mapping[str, float]  # one threshold, or one per backbone (calibrated)


def needs_escalation(c: Candidate, min_margin: Margins) -> bool:
    """Cascade test: escalate when the option-probability margin is below the backbone's threshold.

    Free text has no margin; it escalates only when empty. A backbone missing from a
    per-backbone mapping is never trusted on its own (its threshold is infinite).
    """
    if c.margin is None:
        return not c.text.strip()
    return c.margin < margin_for(c.backbone, min_margin)


def margin_for(backbone: str, min_margin: Margins) -> float:
    """The margin above which `backbone`'s answer stops a cascade (infinite: never ask it first)."""
    return min_margin.get(backbone, float("inf")) if isinstance(min_margin, Mapping) else float(min_margin)


def cascade_order(backbones: Sequence[str], min_margin: Margins) -> list[str]:
    """The backbones a cascade asks, cheapest first: one whose answer could never stop the cascade
    (infinite threshold) is skipped, unless it is the last, which always answers."""
    return [b for i, b in enumerate(backbones) if i == len(backbones) - 1 or margin_for(b, min_margin) != float("inf")]


def cascade(candidates: Sequence[Candidate], min_margin: Margins) -> Decision:
    """Cheapest first: the first confident candidate answers, else the last one asked.

    `candidates` are the outputs actually computed, cheapest first; the executor stops
    calling backbones once one is confident, so usually fewer than all are present.
    """
    if not candidates:
        raise ValueError("cascade needs at least one candidate")
    chosen = next((c for c in candidates if not needs_escalation(c, min_margin)), candidates[-1])
    idx = list(candidates).index(chosen)
    agree = sum(same_answer(chosen, c) for c in candidates) / len(candidates)
    return Decision(chosen.backbone, chosen.text, chosen.choice, agree,
                    tuple(_view(c) for c in candidates), escalated=idx > 0)


def vote(candidates: Sequence[Candidate], weights: Mapping[str, float] | None = None) -> Decision:
    """Weighted vote: each backbone's weight is its calibrated accuracy (default 1).

    Ties go to the group whose best member has the higher weight, then to the earlier one.
    """
    if not candidates:
        raise ValueError("vote needs at least one candidate")
    w = {c.backbone: (weights or {}).get(c.backbone, 1.0) for c in candidates}
    groups: list[list[Candidate]] = []
    for c in candidates:
        for g in groups:
            if same_answer(g[0], c):
                g.append(c)
                break
        else:
            groups.append([c])
    best = max(groups, key=lambda g: (sum(w[c.backbone] for c in g), max(w[c.backbone] for c in g),
                                      -groups.index(g)))
    rep = max(best, key=lambda c: (w[c.backbone], c.confidence or 0.0))
    return Decision(rep.backbone, rep.text, rep.choice, len(best) / len(candidates),
                    tuple(_view(c) for c in candidates))


def disagreement_text(views: Sequence[View], lang: str = "en") -> str:
    """The answer shown when the models disagree: one line per backbone's view."""
    head = "各模型意见不一致，请结合临床判断：" if lang == "zh" else (
        "The models disagree; weigh each view with clinical judgement:")
    lines = [head]
    for v in views:
        conf = f" ({v.confidence:.0%})" if v.confidence is not None else ""
        lines.append(f"- {v.backbone}{conf}: {v.text}")
    return "\n".join(lines)


def abstain(d: Decision, min_agreement: float, lang: str = "en") -> Decision:
    """Below min_agreement the answer says the models disagree and shows each view."""
    if len(d.views) < 2 or d.agreement >= min_agreement:
        return d
    return replace(d, text=disagreement_text(d.views, lang), choice=None, disagree=True)
