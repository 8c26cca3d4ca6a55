"""Config-driven router: the first rule whose signals match picks role, retrieval and reasoning.

Rules live in the packaged default_rules.yaml; a hospital overrides them by name with
its own YAML (`routing_rules.yaml` in MEDQA_HOME, or an explicit path).
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from medqa.config import Settings
from medqa.errors import ConfigError, UnknownName
from medqa.routing.base import Router
from medqa.routing.signals import Signals, extract
from medqa.types import Question, Route

HOME_RULES_FILE = "routing_rules.yaml"


class When(BaseModel):
    """Conditions on Signals; every key given must hold (boundary model for the YAML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    lang: str | None = None
    qtype: str | list[str] | None = None
    vignette: bool | None = None
    patient_context: bool | None = None
    mode: str | None = None
    min_words: int | None = None
    max_words: int | None = None
    min_complexity: float | None = None
    max_complexity: float | None = None

    def matches(self, s: Signals) -> bool:
        """True when every condition given holds for s."""
        if self.lang is not None and s.lang != self.lang:
            return False
        if self.qtype is not None:
            allowed = [self.qtype] if isinstance(self.qtype, str) else self.qtype
            if s.qtype not in allowed:
                return False
        if self.vignette is not None and s.vignette != self.vignette:
            return False
        if self.patient_context is not None and s.patient_context != self.patient_context:
            return False
        if self.mode is not None and s.mode != self.mode:
            return False
        if self.min_words is not None and s.words < self.min_words:
            return False
        if self.max_words is not None and s.words > self.max_words:
            return False
        if self.min_complexity is not None and s.complexity < self.min_complexity:
            return False
        if self.max_complexity is not None and s.complexity > self.max_complexity:
            return False
        return True


class Rule(BaseModel):
    """One routing rule as written in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    when: When = When()
    role: str | None = None
    backbone: str | None = None
    retrieve: bool = True
    reasoning: bool = False
    strategy: Literal["single", "cascade", "vote"] = "single"
    also: list[str] = []  # more roles for cascade / vote, in order
    because: str = ""
    disabled: bool = False
    before: str | None = None  # overrides only: insert before this rule


def _read_yaml(path: Path | str, text: str | None = None) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(text if text is not None else Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"Cannot read routing rules {path}: {e}", "Fix the YAML or remove the file.") from e
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ConfigError(f"Routing rules {path} must hold a `rules:` list.", "See docs/routing.md.")
    return data["rules"]


def _parse(raw: list[dict[str, Any]], where: str) -> list[Rule]:
    try:
        return [Rule.model_validate(r) for r in raw]
    except ValidationError as e:
        raise ConfigError(f"Invalid routing rule in {where}: {e}", "See docs/routing.md for the keys.") from e


def default_rules() -> list[Rule]:
    """The packaged rules."""
    text = resources.files("medqa.routing").joinpath("default_rules.yaml").read_text(encoding="utf-8")
    return _parse(_read_yaml("default_rules.yaml", text), "default_rules.yaml")


def merge_rules(base: list[Rule], overrides: list[Rule]) -> list[Rule]:
    """Overrides replace rules of the same name in place, drop `disabled` ones, insert new ones."""
    rules = list(base)
    for o in overrides:
        names = [r.name for r in rules]
        if o.name in names:
            rules[names.index(o.name)] = o
            continue
        anchor = o.before or ("default" if "default" in names else None)
        rules.insert(names.index(anchor) if anchor in names else len(rules), o)
    return [r for r in rules if not r.disabled]


def load_rules(settings: Settings | None = None, rules_file: Path | str | None = None) -> list[Rule]:
    """Defaults merged with the hospital's overrides (explicit file, else MEDQA_HOME's)."""
    rules = default_rules()
    path = Path(rules_file) if rules_file else (settings.home / HOME_RULES_FILE if settings else None)
    if rules_file and not Path(rules_file).is_file():
        raise ConfigError(f"Routing rules file {rules_file} does not exist.", "Check the path.")
    if path is not None and path.is_file():
        rules = merge_rules(rules, _parse(_read_yaml(path), str(path)))
    return rules


@dataclass(frozen=True)
class SignalRouter(Router):
    """Routes by the first matching rule; roles resolve to concrete backbones."""

    rules: tuple[Rule, ...]
    roles: Mapping[str, str]  # role -> concrete backbone name
    default_role: str = "general"

    def __post_init__(self) -> None:
        if not self.rules:
            raise ConfigError("No routing rules are enabled.", "Keep at least the `default` rule.")
        for r in self.rules:
            for role in ([r.role] if r.role else []) + list(r.also):
                if role not in self.roles:
                    raise UnknownName("role", role, list(self.roles))

    @classmethod
    def from_settings(cls, settings: Settings, rules_file: Path | str | None = None) -> "SignalRouter":
        """The router for these settings' role bindings and rule overrides.

        A deployment may bind fewer roles than the rules name (one backbone on a small
        machine): an unbound role is served by the default role's backbone.
        """
        rules = tuple(load_rules(settings, rules_file))
        roles = dict(settings.models.roles)
        if settings.models.default_role not in roles:
            raise UnknownName("default role", settings.models.default_role, list(roles))
        for r in rules:
            for role in ([r.role] if r.role else []) + list(r.also):
                roles.setdefault(role, roles[settings.models.default_role])
        return cls(rules=rules, roles=roles, default_role=settings.models.default_role)

    def decide(self, q: Question) -> tuple[Rule, Signals]:
        """The first matching rule (the last rule is the fallback when none matches)."""
        s = extract(q)
        for rule in self.rules:
            if rule.when.matches(s):
                return rule, s
        return self.rules[-1], s

    def _backbone(self, rule: Rule) -> str:
        return rule.backbone or self.roles[rule.role or self.default_role]

    def _scores(self, chosen: str) -> dict[str, float]:
        # The chosen backbone first, then the default role's, then the rest: the
        # order health.py falls back in when a backbone is down.
        out: dict[str, float] = {}
        rest = [self.default_role] + [r for r in self.roles if r != self.default_role]
        for i, role in enumerate(rest):
            name = self.roles[role]
            out[name] = max(out.get(name, 0.0), round(0.6 - 0.1 * i, 2))
        out[chosen] = 1.0
        return out

    def scores(self, q: Question) -> dict[str, float]:
        rule, _ = self.decide(q)
        return self._scores(self._backbone(rule))

    def route(self, q: Question) -> Route:
        rule, s = self.decide(q)
        name = self._backbone(rule)
        extra = tuple(self.roles[r] for r in rule.also if self.roles[r] != name)
        who = f"{rule.role} role ({name})" if rule.role and not rule.backbone else name
        parts = [f"retrieval {'on' if rule.retrieve else 'off'}"]
        if rule.reasoning:
            parts.append("reasoning on")
        if rule.strategy != "single":
            parts.append(f"{rule.strategy} with {', '.join(extra) or 'no other backbone'}")
        because = rule.because or s.describe()
        return Route(
            backbones=(name, *dict.fromkeys(extra)),
            retrieve=rule.retrieve,
            strategy=rule.strategy if extra else "single",
            reasoning=rule.reasoning,
            scores=self._scores(name),
            explanation=f"{because} -> {who}, {', '.join(parts)}",
        )
