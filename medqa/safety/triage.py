"""Red-flag triage before any answer is generated: en + zh rules (negation, history aware), then a learned backstop."""
from __future__ import annotations

import re
from dataclasses import dataclass

from medqa.lang import detect_lang
from medqa.safety import backstop_words as bw
from medqa.safety import redflags as rf
from medqa.safety import scope_cues as sc


@dataclass(frozen=True)
class TriageResult:
    """Whether a message describes an emergency happening now, which kind, and the phrase that said so."""

    emergency: bool
    category: str | None = None
    matched: str | None = None
    lang: str = "en"


Span = tuple[int, int]


def _segments(text: str, lang: str) -> list[Span]:
    """Scope segments: negation, history and hypothetical cues only reach within one."""
    breaker = sc.BREAK_ZH if lang == "zh" else sc.BREAK_EN
    spans, start = [], 0
    for m in breaker.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [s for s in spans if s[1] > s[0]]


class _Scanner:
    """Finds pattern matches that are current: not negated, not past history, not hypothetical."""

    def __init__(self, text: str, lang: str) -> None:
        self.text, self.lang = text, lang
        self.segs = _segments(text, lang)
        # Addressed to anyone, asked to prepare, or fiction, and naming no one now: every red flag in it is
        # hypothetical. The cue's own words are no "now": "so I'm prepared" keeps no one in.
        audience = sc.AUDIENCE[lang]
        self.general_audience = bool(audience.search(text)) and not sc.SPECIFIC_NOW[lang].search(audience.sub(" ", text))

    def _seg(self, pos: int) -> Span:
        for s in self.segs:
            if s[0] <= pos < s[1]:
                return s
        return (pos, pos)

    def negated(self, start: int, end: int | None = None) -> bool:
        """A negation cue shortly before the match, or after a list ("胸闷、胸痛均否认"), inside its segment."""
        s0, s1 = self._seg(start)
        if end is not None and (sc.NEG_POST_ZH if self.lang == "zh" else sc.NEG_POST_EN).search(self.text[end:s1]):
            return True
        if self.lang == "zh":
            # The cue must start before the match, but its lookahead sees the match: "不(?=发烧)"
            # in "也不发烧" negates, "没(?!反应)" in "叫他没反应" does not.
            window = self.text[s0:min(s1, start + 3)]
            return any(m.start() < start - s0 for m in sc.NEG_ZH.finditer(window))
        if any(m.start() < start for m in sc.NEG_AHEAD_EN.finditer(self.text, max(s0, start - 30), min(s1, start + 8))):
            return True
        # "denies SOB, fever or chest pain": a cue reaches a short list, not a whole sentence.
        window = " ".join(self.text[s0:start].split()[-sc.NEG_WINDOW_EN:])
        return bool(sc.NEG_EN.search(window))

    def current(self, start: int) -> bool:
        """The segment is neither about the past nor a textbook/hypothetical question."""
        if self.general_audience:
            return False
        s0, s1 = self._seg(start)
        seg = self.text[s0:s1]
        hist, hypo = (sc.HIST_ZH, sc.HYPO_ZH) if self.lang == "zh" else (sc.HIST_EN, sc.HYPO_EN)
        return not hist.search(seg) and not hypo.search(seg) and not self._opens_in_the_past(s0)

    def _opens_in_the_past(self, s0: int) -> bool:
        """Chinese: the segment's sentence opens with a bare past time ("三年前的今天，…") set off by a comma."""
        if self.lang != "zh":
            return False
        start = max(self.text.rfind(c, 0, s0) for c in "。！？!?\n") + 1
        first = next((s for s in self.segs if s[0] >= start), None)
        return first is not None and first[0] < s0 and bool(sc.HIST_LEAD_ZH.match(self.text[first[0]:first[1]]))

    def active(self, m: re.Match[str]) -> bool:
        """The match says something, is not negated and is current."""
        return bool(m.group(0).strip()) and not self.negated(m.start(), m.end()) and self.current(m.start())

    def find(self, pattern: re.Pattern[str], unless: re.Pattern[str] | None = None) -> re.Match[str] | None:
        """First match of pattern that is active now (and inside no match of `unless`)."""
        skip = [u.span() for u in unless.finditer(self.text)] if unless else []
        for m in pattern.finditer(self.text):
            if self.active(m) and not any(a <= m.start() < b for a, b in skip):
                return m
        return None


def _num(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    if word in rf.EN_NUMS:
        return rf.EN_NUMS[word]
    total, digits = 0, [rf.ZH_NUMS.get(c) for c in word]
    if None in digits or not digits:
        return None
    if "十" in word:  # 十, 十二, 二十, 二十三
        head, _, tail = word.partition("十")
        total = (rf.ZH_NUMS[head] if head else 1) * 10 + (rf.ZH_NUMS[tail] if tail else 0)
        return total
    return digits[0] if len(digits) == 1 else None


def _infant_days(text: str, lang: str) -> int | None:
    """Age in days when the message names a baby's age; newborns count as 0."""
    if rf.NEWBORN.search(text):
        return 0
    if lang == "zh" and not rf.BABY_ZH.search(text):  # "咳嗽两个月" is a duration, not an age
        return None
    for m in (rf.AGE_ZH if lang == "zh" else rf.AGE_EN).finditer(text):
        n = _num(m.group("n"))
        if n is not None:
            return n * rf.UNIT_DAYS[m.group("unit")]
    return None


def _pregnancy(s: _Scanner) -> str | None:
    """Bleeding, pain or pre-eclampsia signs in pregnancy: checked first, the obstetric team needs it."""
    t = rf.ZH if s.lang == "zh" else rf.EN
    if t["pregnant"].search(s.text):
        m = s.find(t["pregnancy_symptom"])
        if m:
            return m.group(0)
    return None


def _compound(s: _Scanner) -> tuple[str, str] | None:
    """Red flags that need two things together (a symptom plus a context or feature)."""
    zh = s.lang == "zh"
    t = rf.ZH if zh else rf.EN
    days = _infant_days(s.text, s.lang)
    if days is not None and days < rf.INFANT_DAYS:
        m = s.find(t["fever"])
        if m:
            return "infant_fever", m.group(0)
    m = s.find(t["chest"], unless=rf.CHEST_WALL[s.lang])  # pain only on pressing the chest wall is benign
    if m and s.find(t["chest_feature"]):
        return "chest_pain", m.group(0)
    for m in t["head_knock"].finditer(s.text):  # a knock to the head, then a warning sign that is not negated
        if s.active(m):
            end = m.end() + rf.HEAD_WINDOW[s.lang]
            sign = next((f for f in t["head_feature"].finditer(s.text, m.end(), end) if s.active(f)), None)
            if sign:
                return "unconscious", s.text[m.start():sign.end()]
    m = s.find(t["neck_stiff"])
    if m and s.find(t["fever"]):
        return "meningitis", m.group(0)
    if rf.CHEMO.search(s.text):  # fever during chemotherapy: neutropenic sepsis until shown otherwise
        m = s.find(t["fever"])
        if m:
            return "sepsis", m.group(0)
    for m in rf.BP.finditer(s.text):
        if int(m.group("sys") or m.group("sbp")) < rf.SHOCK_SYSTOLIC and not s.negated(m.start()) and s.current(m.start()):
            return "sepsis", m.group(0)
    # The latest glucose reading decides: "was 2.8 this morning, ate toast and it's 6 now" has recovered.
    readings = [m for m in rf.GLUCOSE.finditer(s.text) if not s.negated(m.start()) and s.current(m.start())]
    if readings:
        m = readings[-1]
        if float(m.group("g")) < (rf.HYPO_MG if m.group("mg") else rf.HYPO_MMOL):
            return "alarm", m.group(0)
    return None


def _generic(s: _Scanner) -> str | None:
    """A symptom and a severity or acuity marker in the same current, non-negated clause."""
    symptom, severity = rf.GENERIC[s.lang]
    sore = [u.span() for u in rf.SORENESS[s.lang].finditer(s.text)]  # muscle soreness is no red-flag pain
    for m in symptom.finditer(s.text):
        if s.negated(m.start(), m.end()) or not s.current(m.start()) or any(a <= m.start() < b for a, b in sore):
            continue
        s0, s1 = s._seg(m.start())
        sev = severity.search(s.text, s0, s1)
        if sev and not s.negated(sev.start()):
            return s.text[min(m.start(), sev.start()):max(m.end(), sev.end())]
    return None


def rules_only(text: str, lang: str | None = None) -> TriageResult:
    """The rule tiers alone (explainable: `matched` names the phrase)."""
    lang = lang or detect_lang(text)
    norm = rf.normalise(text)
    # Chinese messages often mix in English terms (SOB, BP, GCS), so zh also gets the English rules.
    scanners = [_Scanner(norm, "zh"), _Scanner(norm, "en")] if lang == "zh" else [_Scanner(norm, "en")]
    for s in scanners:
        phrase = _pregnancy(s)
        if phrase:
            return TriageResult(True, "pregnancy", phrase.strip(), lang)
    for category, rules in rf.RULES:
        for s in scanners:
            m = s.find(rules[s.lang])
            if m:
                return TriageResult(True, category, m.group(0).strip(), lang)
    for s in scanners:
        hit = _compound(s)
        if hit:
            return TriageResult(True, hit[0], hit[1].strip(), lang)
    for s in scanners:
        m = s.find(rf.ALARM[s.lang])
        phrase = m.group(0) if m else _generic(s)
        if phrase:
            return TriageResult(True, "alarm", phrase.strip(), lang)
    return TriageResult(False, None, None, lang)


def general_question(text: str, lang: str | None = None) -> bool:
    """A question about a condition that names nobody who has it ("How to recognise anaphylaxis?")."""
    lang = lang or detect_lang(text)
    norm = rf.normalise(text)
    # Chinese questions often drop the subject ("胸口痛怎么办"), so zh needs a textbook phrasing and
    # any sign of a person or of now in either language keeps the message in.
    return bool(rf.GENERAL_QUESTION[lang].search(norm)) and not any(p.search(norm) for p in rf.PERSON_OR_NOW.values())


def calm_context(text: str) -> bool:
    """A benign finding the labelling rules name, or a service request, teaching question, news, family history
    or settled episode with no word of onset; a word of urgency rules both out."""
    norm = rf.normalise(text)

    def said(words: dict[str, re.Pattern[str]]) -> bool:
        # Both languages' words: Chinese messages mix in English ones ("复查 follow-up"), and the reverse.
        return bool(words["en"].search(norm) or words["zh"].search(norm))

    # Writing fiction, and naming no one now: its story's own urgency ("within minutes") is nobody's.
    if said(sc.FICTION_RE):
        rest = sc.FICTION_RE["zh"].sub(" ", sc.FICTION_RE["en"].sub(" ", norm))
        if not (sc.SPECIFIC_NOW["en"].search(rest) or sc.SPECIFIC_NOW["zh"].search(rest)):
            return True
    if said(bw.URGENCY):
        return False
    if said(bw.BENIGN):
        return True
    if said(bw.ONSET):
        return False
    return said(sc.AUDIENCE) or any(en.search(norm) or zh.search(norm) for en, zh in bw.CALM.values())


def triage(text: str, lang: str | None = None) -> TriageResult:
    """Screen one message for red flags; emergency=True means escalate before any answer is generated.

    Rules first; when they find nothing, the learned backstop (medqa.safety.learned) may still
    flag the message as a possible emergency (category 'alarm'), unless it is a general question
    that names nobody. In a calm context (`calm_context`) the backstop needs even odds rather than
    its recall-lowered threshold. (A gate that also required a body-part or symptom word was dropped:
    on fresh dev batches it silenced 8 of 118 emergencies, "I've tied a rope in the garage".)"""
    result = rules_only(text, lang)
    if result.emergency:
        return result
    if general_question(text, result.lang):
        return result
    from medqa.safety import learned

    probs = learned.scores([text])
    th = learned.threshold(calm=calm_context(text))
    if probs is not None and th is not None and probs[0] >= th:
        return TriageResult(True, "alarm", None, result.lang)
    return result
