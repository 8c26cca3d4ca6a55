"""The policy file: defaults, a hospital's override, refusals, disclaimers, escalations."""
from __future__ import annotations

from pathlib import Path

import pytest

from medqa.config import load_settings
from medqa.errors import ConfigError
from medqa.safety.policy import load_policy
from medqa.types import Question


@pytest.fixture(scope="module")
def policy():
    return load_policy(None)


@pytest.mark.parametrize("text,lang", [
    ("What dose should I give Mr Wang?", "en"),
    ("How much morphine should I give the patient in bed 5?", "en"),
    ("给3床患者用多少胰岛素？", "zh"),
    ("应该给患者张三开多少阿莫西林？", "zh"),
])
def test_refuses_to_prescribe_for_a_named_patient(policy, text: str, lang: str) -> None:
    q = Question(text)
    assert policy.refusal_kind(q) == "prescriber"
    msg = policy.check(q)
    assert msg and (("处方" in msg) if lang == "zh" else ("prescriber" in msg))


@pytest.mark.parametrize("text", ["Write me a poem about the sea", "帮我写一段Python代码", "今天天气怎么样"])
def test_refuses_non_medical_help(policy, text: str) -> None:
    assert policy.refusal_kind(Question(text)) == "non_medical"


@pytest.mark.parametrize("text", [
    "What is the usual adult dose of amoxicillin?",
    "What diet helps with stress?",
    "二甲双胍有什么副作用？",
    "Write a short leaflet about diabetes for patients",
])
def test_allows_general_medical_questions(policy, text: str) -> None:
    assert policy.check(Question(text)) is None


def test_modes_have_their_own_disclaimers_and_escalations(policy) -> None:
    staff, patient = policy.disclaimer("staff", "en"), policy.disclaimer("patient", "en", "911")
    assert staff != patient and "911" in patient
    assert "医生" in policy.disclaimer("staff", "zh")
    esc_p = policy.escalation("stroke", "patient", "en", "911")
    esc_s = policy.escalation("stroke", "staff", "en", "911")
    assert "911" in esc_p and "stroke" in esc_p
    assert "protocol" in esc_s and "911" not in esc_s
    assert "120" in policy.escalation("chest_pain", "patient", "zh", "120")


def test_hospital_override_file(tmp_path: Path, medqa_home: Path) -> None:
    f = tmp_path / "policy.yaml"
    f.write_text('modes:\n  patient:\n    disclaimer:\n      en: "Ask St Mary\'s nurse line."\n      zh: "请咨询护士热线。"\n',
                 encoding="utf-8")
    p = load_policy(load_settings(home=medqa_home, safety={"policy_file": f}))
    assert p.disclaimer("patient", "en") == "Ask St Mary's nurse line."
    assert "protocol" in p.escalation("seizure", "staff", "en", "112")  # the rest is the default


def test_missing_or_broken_policy_file_says_how_to_fix(tmp_path: Path, medqa_home: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_policy(load_settings(home=medqa_home, safety={"policy_file": tmp_path / "nope.yaml"}))
    assert "MEDQA_SAFETY__POLICY_FILE" in e.value.hint
    bad = tmp_path / "bad.yaml"
    bad.write_text("modes: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_policy(load_settings(home=medqa_home, safety={"policy_file": bad}))
