"""The hospital's safety policy (YAML): modes, disclaimers, escalation texts, refusals, injection rules."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from medqa.errors import ConfigError
from medqa.lang import detect_lang
from medqa.types import Question

DEFAULT_POLICY = Path(__file__).with_name("policy.yaml")
MODES = ("staff", "patient")
LANGS = ("en", "zh")


CASE_SENSITIVE_RULES = ("identified_patient",)  # "my patient Wang": the capital is the signal


def _rx(patterns: list[str], ignore_case: bool = True) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!)", re.IGNORECASE if ignore_case else 0)


@dataclass(frozen=True)
class Policy:
    """What the assistant may do, and what it says when it must not."""

    data: Mapping[str, Any]
    source: str = "default"

    def __post_init__(self) -> None:
        rules = dict(self.data.get("rules", {})) | {"injection": self.data.get("injection", {})}
        compiled = {
            rule: {lang: _rx(by_lang.get(lang, []), rule not in CASE_SENSITIVE_RULES) for lang in LANGS}
            for rule, by_lang in rules.items()
        }
        object.__setattr__(self, "_rules", compiled)

    def _text(self, node: Any, lang: str, where: str) -> str:
        if not isinstance(node, Mapping) or not (node.get(lang) or node.get("en")):
            raise ConfigError(f"Policy {self.source}: missing text at {where}.{lang}.",
                              "Copy medqa/safety/policy.yaml and fill in every en and zh text.")
        return str(node.get(lang) or node["en"])

    def _lang(self, lang: str | None, text: str = "") -> str:
        return lang if lang in LANGS else detect_lang(text) if text else "en"

    def disclaimer(self, mode: str, lang: str, emergency_number: str = "120") -> str:
        """The disclaimer shown under every answer in this mode."""
        mode = mode if mode in MODES else "staff"
        text = self._text(self.data["modes"][mode]["disclaimer"], self._lang(lang), f"modes.{mode}.disclaimer")
        return text.replace("{emergency_number}", emergency_number)

    def scope(self, mode: str, lang: str) -> str:
        """What the assistant is for, in this mode (for the system prompt and the UI)."""
        mode = mode if mode in MODES else "staff"
        return self._text(self.data["modes"][mode]["scope"], self._lang(lang), f"modes.{mode}.scope")

    def category_name(self, category: str, lang: str) -> str:
        """A red-flag category's display name."""
        node = self.data.get("categories", {}).get(category)
        return self._text(node, lang, f"categories.{category}") if node else category.replace("_", " ")

    def escalation(self, category: str, mode: str, lang: str, emergency_number: str) -> str:
        """The message that replaces an answer when triage finds a red flag."""
        mode = mode if mode in MODES else "staff"
        lang = self._lang(lang)
        esc = self.data["escalation"]
        node = esc.get("overrides", {}).get(category, {}).get(mode) or esc[mode]
        text = self._text(node, lang, f"escalation.{mode}")
        return text.replace("{category}", self.category_name(category, lang)).replace(
            "{emergency_number}", emergency_number)

    def refusal_kind(self, q: Question) -> str | None:
        """'prescriber' or 'non_medical' when the policy refuses the question, else None."""
        lang = self._lang(q.lang, q.text)
        text = q.text
        if self._matches("prescribe_intent", text) and self._identified(text, lang):
            return "prescriber"
        if self._matches("non_medical", text) and not self._matches("medical_terms", text):
            return "non_medical"
        return None

    def _matches(self, rule: str, text: str) -> bool:
        rules = self._rules.get(rule, {})  # type: ignore[attr-defined]
        return any(rx.search(text) for rx in rules.values())

    def _identified(self, text: str, lang: str) -> bool:
        """The question is about a particular patient: a name in context, a bed, a room."""
        from medqa.safety.phi import redact

        if self._matches("identified_patient", text):
            return True
        return "PERSON" in redact(text, lang).types

    def check(self, q: Question) -> str | None:
        """The refusal message in the question's language, or None when the policy allows it."""
        kind = self.refusal_kind(q)
        if kind is None:
            return None
        return self._text(self.data["refusals"][kind], self._lang(q.lang, q.text), f"refusals.{kind}")

    def is_injection(self, text: str) -> bool:
        """Text that tries to give the assistant instructions (in a document, it is an attack)."""
        return any(rx.search(text) for rx in self._rules["injection"].values())  # type: ignore[attr-defined]

    def injection_spans(self, text: str) -> list[tuple[int, int]]:
        """Where instruction-like text sits, for neutralising it."""
        return [m.span() for rx in self._rules["injection"].values() for m in rx.finditer(text)]  # type: ignore[attr-defined]


def _read(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"Cannot read the safety policy {path}: {e}",
                          "Fix the YAML or unset MEDQA_SAFETY__POLICY_FILE to use the default.") from e
    if not isinstance(data, dict):
        raise ConfigError(f"Safety policy {path} is not a mapping.", "Start from medqa/safety/policy.yaml.")
    return data


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in override.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_policy(settings: Any = None) -> Policy:
    """The packaged policy, with the hospital's file (settings.safety.policy_file) laid over it."""
    data = _read(DEFAULT_POLICY)
    path = getattr(getattr(settings, "safety", None), "policy_file", None)
    if path:
        path = Path(path).expanduser()
        if not path.is_file():
            raise ConfigError(f"Safety policy file {path} does not exist.",
                              "Set MEDQA_SAFETY__POLICY_FILE to an existing YAML file, or unset it.")
        # A hospital file need only hold what it changes; the rest comes from the default.
        data = _merge(data, _read(path))
    policy = Policy(data, str(path or DEFAULT_POLICY))
    for mode in MODES:  # fail at load, not in the middle of a request
        for lang in LANGS:
            policy.disclaimer(mode, lang)
            policy.escalation("stroke", mode, lang, "120")
    return policy
