"""Cheap signals read off a question's text: language, type, length, vignette, patient context.

Everything here is regular expressions and counting, so a routing decision costs
microseconds; the learned router reuses `Signals.vector()` as features.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from medqa.lang import detect_lang
from medqa.types import Question

QTYPES = ("mcq", "yesno", "free", "service")

_YESNO_OPTIONS = {"yes", "no", "maybe", "是", "否", "不确定"}

# "A 45-year-old man presents with ...", "A 3-week-old boy is brought ...", "患者，男，45岁"
_VIGNETTE_EN = re.compile(
    r"\b(an?|this)\s+\d+[- ](year|month|week|day)s?[- ]old\b"
    r"|\bpresents?\s+(to|with)\b|\bis brought (to|in)\b|\bcomes to the (physician|clinic|emergency)",
    re.IGNORECASE,
)
_VIGNETTE_ZH = re.compile(r"患者|病人|患儿|[男女]性?[，,、\s]*\d+\s*岁|\d+\s*岁[，,、\s]*[男女]")

# Measurements and medications that tie a question to one patient.
_PATIENT_DETAIL = re.compile(
    r"\d+\s*(mm ?hg|mg/dl|mmol/l|g/dl|/min|bpm|°c|°f|kg|mg\b|μg|mcg|u/l|iu)"
    r"|\b(blood pressure|pulse|temperature|laboratory|lab results|medical history|his mother|her mother)\b"
    r"|\b(my|our) (mother|father|son|daughter|wife|husband|child|baby|doctor)\b|\bI (have|am|was|take)\b"
    r"|血压|体温|心率|化验|检查结果|病史|我(妈|爸|的|家)|孩子",
    re.IGNORECASE,
)

# Patient-service tasks: logistics, instructions and explanations rather than medicine.
_SERVICE_EN = re.compile(
    r"\b(appointment|schedule|reschedule|visiting hours|discharge instructions?|insurance|billing|"
    r"referral|parking|pharmacy hours|prepare for (my|the|a)|fasting before|explain .* to (a|the|my) patient|"
    r"in plain (language|english)|patient leaflet|follow-up visit|register|check-in)\b",
    re.IGNORECASE,
)
_SERVICE_ZH = re.compile(r"预约|挂号|复诊|出院|医保|报销|探视|门诊时间|住院手续|就诊|取药|缴费|怎么准备|注意事项|科室")

# Words that mark a question as needing several reasoning steps.
_REASONING_CUES = re.compile(
    r"most likely|next (best )?step|most appropriate|mechanism|differential|diagnos|"
    r"which of the following|except|least likely|best explains|最可能|首选|诊断|鉴别|机制|不正确|错误的是",
    re.IGNORECASE,
)
_YESNO_START = re.compile(
    r"^\s*(is|are|does|do|did|can|could|should|was|were|has|have|will)\b", re.IGNORECASE
)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass(frozen=True)
class Signals:
    """What the router knows about a question before any model sees it."""

    lang: str  # "en" | "zh"
    qtype: str  # one of QTYPES
    chars: int
    words: int  # English words, or CJK characters / 2 (a rough token-equivalent)
    n_options: int
    vignette: bool
    patient_context: bool
    reasoning_cues: int
    complexity: float  # [0, 1]: length, clinical detail and reasoning cues together
    mode: str = "staff"

    def vector(self) -> list[float]:
        """Numeric features for learned routers (fixed order; see FEATURE_NAMES)."""
        return [
            1.0 if self.lang == "zh" else 0.0,
            *(1.0 if self.qtype == t else 0.0 for t in QTYPES),
            min(self.words, 400) / 400.0,
            self.n_options / 5.0,
            float(self.vignette),
            float(self.patient_context),
            min(self.reasoning_cues, 4) / 4.0,
            self.complexity,
        ]

    def describe(self) -> str:
        """A few words for explanations: 'long Chinese clinical vignette'."""
        size = "long" if self.complexity >= 0.5 else "short"
        lang = "Chinese" if self.lang == "zh" else "English"
        kind = {
            "mcq": "multiple-choice question",
            "yesno": "yes/no question",
            "free": "question",
            "service": "patient-service question",
        }[self.qtype]
        if self.vignette:
            kind = "clinical vignette" + (" (multiple choice)" if self.qtype == "mcq" else "")
        return f"{size} {lang} {kind}"


FEATURE_NAMES = (
    "zh", *(f"qtype_{t}" for t in QTYPES), "words", "n_options", "vignette",
    "patient_context", "reasoning_cues", "complexity",
)


def _qtype(q: Question, text: str, service: bool) -> str:
    if q.options:
        values = {str(v).strip().lower().rstrip(".") for v in q.options.values()}
        return "yesno" if values <= _YESNO_OPTIONS else "mcq"
    if q.workflow or service:
        return "service"
    if _YESNO_START.match(text) and text.rstrip().endswith("?"):
        return "yesno"
    return "free"


def extract(q: Question) -> Signals:
    """Signals of one question; pure and fast (no models)."""
    text = q.text or ""
    lang = q.lang or detect_lang(text)
    cjk = len(_CJK.findall(text))
    words = len(text.split()) + cjk // 2 if lang == "zh" else len(text.split())
    service = bool(_SERVICE_ZH.search(text) if lang == "zh" else _SERVICE_EN.search(text))
    qtype = _qtype(q, text, service)
    vignette = bool(_VIGNETTE_ZH.search(text) if lang == "zh" else _VIGNETTE_EN.search(text))
    details = len(_PATIENT_DETAIL.findall(text))
    patient = vignette or details > 0 or bool(q.history)
    cues = len(_REASONING_CUES.findall(text))
    # Length saturates at ~150 words (a USMLE vignette); details and cues add on top.
    complexity = min(1.0, 0.55 * min(words / 150.0, 1.0) + 0.1 * min(details, 3)
                     + 0.1 * min(cues, 2) + (0.15 if vignette else 0.0))
    return Signals(
        lang=lang, qtype=qtype, chars=len(text), words=words,
        n_options=len(q.options or {}), vignette=vignette, patient_context=patient,
        reasoning_cues=cues, complexity=round(complexity, 4), mode=q.mode,
    )
