"""PHI redaction: Presidio's analyzer and anonymizer with offline pattern recognizers (en, zh)."""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from medqa.lang import detect_lang
from medqa.safety.phi_patterns import PATTERNS

PLACEHOLDERS = {
    "PERSON": "<NAME>",
    "PHONE": "<PHONE>",
    "EMAIL": "<EMAIL>",
    "MRN": "<MRN>",
    "DOB": "<DOB>",
    "ADDRESS": "<ADDRESS>",
    "US_SSN": "<SSN>",
    "CN_ID": "<CN_ID>",
    "INSURANCE_ID": "<INSURANCE_ID>",
}
ENTITIES = tuple(PLACEHOLDERS)
LANGS = ("en", "zh")
SCORE_THRESHOLD = 0.5
_lock = threading.Lock()


@dataclass(frozen=True)
class Redaction:
    """Redacted text and what was removed: (type, start, end) in the ORIGINAL text, never the values."""

    text: str
    entities: tuple[tuple[str, int, int], ...] = ()

    @property
    def types(self) -> tuple[str, ...]:
        """Entity types found, in order of appearance."""
        return tuple(e[0] for e in self.entities)


def cn_id_valid(value: str) -> bool:
    """ISO 7064 MOD 11-2 check digit of an 18-character Chinese resident identity number."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(value[:17], weights))
    return "10X98765432"[total % 11] == value[17].upper()


def _import_presidio() -> tuple[Any, Any]:
    """Import Presidio without its optional transformers/torch engines (we use only patterns).

    presidio_analyzer imports transformers (and through thinc, torch) at import time when
    they are installed: 20 s of start-up for engines we never call. Hiding them during the
    import makes Presidio take its 'not installed' branch; anything already loaded is kept.
    """
    hidden = [m for m in ("transformers", "torch") if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]
    try:
        import presidio_analyzer
        import presidio_anonymizer
    finally:
        for m in hidden:
            if sys.modules.get(m) is None:
                del sys.modules[m]
    return presidio_analyzer, presidio_anonymizer


@lru_cache(maxsize=1)
def _engines() -> tuple[Any, Any]:
    """The analyzer (offline: a no-op NLP engine, pattern recognizers only) and the anonymizer."""
    pa, pz = _import_presidio()
    import regex
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    class CnIdRecognizer(pa.PatternRecognizer):
        """Chinese resident ID: 18 characters whose last one is the MOD 11-2 check digit."""

        def validate_result(self, pattern_text: str) -> bool:
            return cn_id_valid(pattern_text)

    registry = pa.RecognizerRegistry(supported_languages=list(LANGS))
    for lang in LANGS:
        for entity, specs in PATTERNS.items():
            cls = CnIdRecognizer if entity == "CN_ID" else pa.PatternRecognizer
            registry.add_recognizer(
                cls(
                    supported_entity=entity,
                    name=f"medqa_{entity.lower()}_{lang}",
                    patterns=[pa.Pattern(name, rx, score) for name, rx, score in specs],
                    supported_language=lang,
                    # Names rely on capitals, so no IGNORECASE here: patterns opt in with (?i:...).
                    global_regex_flags=regex.MULTILINE | regex.DOTALL,
                )
            )
    nlp = NoOpNlpEngine(models=[{"lang_code": lang, "model_name": "none"} for lang in LANGS])
    analyzer = pa.AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=list(LANGS))
    return analyzer, pz.AnonymizerEngine()


def _resolve(results: list[Any]) -> list[Any]:
    """Overlapping findings become one span: the union, typed by the highest-scoring finding."""
    merged: list[Any] = []
    for r in sorted(results, key=lambda r: (r.start, -r.end)):
        if merged and r.start < merged[-1].end:
            last = merged[-1]
            if r.score > last.score:
                last.entity_type, last.score = r.entity_type, r.score
            last.end = max(last.end, r.end)
        else:
            merged.append(r)
    return merged


def redact(text: str, lang: str | None = None) -> Redaction:
    """Replace every identifier found with a placeholder such as <PHONE> or <NAME>."""
    if not text:
        return Redaction(text or "")
    lang = lang if lang in LANGS else detect_lang(text)
    analyzer, anonymizer = _engines()
    from presidio_anonymizer.entities import OperatorConfig

    with _lock:  # Presidio's engines are not documented as thread-safe
        found = analyzer.analyze(text=text, language=lang, entities=list(ENTITIES),
                                 score_threshold=SCORE_THRESHOLD)
        spans = _resolve(found)
        out = anonymizer.anonymize(
            text=text,
            analyzer_results=spans,
            operators={e: OperatorConfig("replace", {"new_value": p}) for e, p in PLACEHOLDERS.items()},
        )
    return Redaction(out.text, tuple((r.entity_type, r.start, r.end) for r in spans))
