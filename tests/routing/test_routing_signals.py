"""Signals and the rule-based router, on hand-written and real benchmark questions."""
from __future__ import annotations

import json

import pytest

from medqa.data import resolve
from medqa.errors import ConfigError, UnknownName
from medqa.routing.signal_router import SignalRouter, default_rules, merge_rules, Rule
from medqa.routing.signals import FEATURE_NAMES, extract
from medqa.types import Message, Question

VIGNETTE = ("A 45-year-old man presents with crushing chest pain radiating to the left arm for 2 hours. "
            "His blood pressure is 150/90 mmHg and pulse 110/min. He has a history of smoking and "
            "hyperlipidemia and takes no medications. An ECG shows ST elevation in leads II, III and aVF. "
            "Which of the following is the most likely diagnosis?")


@pytest.mark.parametrize("text,options,lang,qtype,vignette", [
    (VIGNETTE, {"A": "Inferior MI", "B": "Pericarditis"}, "en", "mcq", True),
    ("患者，男，45岁，反复胸痛3天，最可能的诊断是？", None, "zh", "free", True),
    ("我想预约下周三的心内科门诊，需要怎么挂号？", None, "zh", "service", False),
    ("How do I prepare for my colonoscopy appointment?", None, "en", "service", False),
    ("Is anorectal endosonography valuable in dyschesia?", {"A": "yes", "B": "no", "C": "maybe"}, "en", "yesno", False),
    ("Does metformin reduce cancer risk in diabetics?", None, "en", "yesno", False),
    ("What are the symptoms of Fallot complex ?", None, "en", "free", False),
])
def test_signals_of_typical_questions(text, options, lang, qtype, vignette):
    s = extract(Question(text=text, options=options))
    assert (s.lang, s.qtype, s.vignette) == (lang, qtype, vignette)
    assert len(s.vector()) == len(FEATURE_NAMES)
    assert 0.0 <= s.complexity <= 1.0


def test_complexity_and_patient_context():
    long = extract(Question(text=VIGNETTE))
    short = extract(Question(text="What is the normal dose of amoxicillin?"))
    assert long.complexity >= 0.5 > short.complexity
    assert long.patient_context and not short.patient_context
    assert extract(Question(text="what now?", history=(Message("user", "my test"),))).patient_context


@pytest.fixture
def router(settings):
    settings.models.roles = {"reasoning": "r1", "general": "qwen", "efficient": "ling"}
    return SignalRouter.from_settings(settings)


@pytest.mark.parametrize("text,options,backbone,retrieve,reasoning,explanation", [
    ("我想预约下周三的心内科门诊，需要怎么挂号？", None, "qwen", True, False,
     "Chinese patient-service question -> general role (qwen), retrieval on"),
    (VIGNETTE, {"A": "Inferior MI", "B": "Pericarditis"}, "r1", False, True,
     "long clinical vignette -> reasoning role (r1), retrieval off, reasoning on"),
    ("Does metformin reduce cancer risk in diabetics?", None, "qwen", True, False,
     "research yes/no question -> general role (qwen), retrieval on"),
    ("What is the normal dose of amoxicillin?", None, "ling", True, False,
     "short factual look-up -> efficient role (ling), retrieval on"),
])
def test_default_rules_route_by_family_strengths(router, text, options, backbone, retrieve, reasoning, explanation):
    r = router.route(Question(text=text, options=options))
    assert r.backbones == (backbone,)
    assert (r.retrieve, r.reasoning, r.strategy) == (retrieve, reasoning, "single")
    assert r.explanation == explanation
    assert r.scores[backbone] == 1.0 and set(r.scores) == {"r1", "qwen", "ling"}
    assert all(0.0 <= v <= 1.0 for v in r.scores.values())


def test_hospital_override_file_replaces_inserts_and_disables(settings):
    settings.models.roles = {"reasoning": "r1", "general": "qwen", "efficient": "ling"}
    (settings.home / "routing_rules.yaml").write_text(
        "rules:\n"
        "  - {name: short-lookup, disabled: true}\n"
        "  - name: cardiology-vote\n"
        "    when: {lang: en, qtype: free}\n"
        "    role: general\n"
        "    strategy: vote\n"
        "    also: [reasoning, efficient]\n"
        "    because: English free-text question\n", encoding="utf-8")
    r = SignalRouter.from_settings(settings).route(Question(text="What is the normal dose of amoxicillin?"))
    assert r.backbones == ("qwen", "r1", "ling") and r.strategy == "vote"
    assert r.explanation.startswith("English free-text question -> general role (qwen), retrieval on, vote")


def test_bad_rules_fail_with_a_hint(settings, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - {name: x, role: general, colour: red}\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        SignalRouter.from_settings(settings, rules_file=bad)
    with pytest.raises(ConfigError):
        SignalRouter.from_settings(settings, rules_file=tmp_path / "missing.yaml")
    with pytest.raises(UnknownName) as e:
        SignalRouter(rules=tuple(merge_rules(default_rules(), [Rule(name="default", role="surgeon")])),
                     roles={"general": "qwen"})
    assert "general" in str(e.value)


def test_real_benchmarks_land_on_the_intended_rules(router):
    """MedQA vignettes go to reasoning without retrieval; PubMedQA* to retrieval; CMMLU to general."""
    picks: dict[str, list] = {}
    for line in resolve("mirage_subset_1000").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        picks.setdefault(row["dataset"], []).append(router.route(Question(row["question"], row["options"])))
    medqa = picks["medqa"]
    assert sum(r.backbones == ("r1",) and not r.retrieve for r in medqa) / len(medqa) > 0.8
    assert all(r.retrieve and r.backbones == ("qwen",) for r in picks["pubmedqa"])
    with open(resolve("cmmlu_medical"), encoding="utf-8") as f:
        zh = [router.route(Question(json.loads(l)["question"], json.loads(l)["options"])) for l in list(f)[:200]]
    assert all(r.backbones == ("qwen",) for r in zh)


def test_registry_names_routers(settings):
    from medqa.routing.registry import get_router, router_names

    assert {"signal", "learned"} <= set(router_names())
    assert isinstance(get_router("signal", settings), SignalRouter)
    with pytest.raises(UnknownName) as e:
        get_router("psychic", settings)
    assert "signal" in e.value.hint and "learned:<dir>" in e.value.hint
    with pytest.raises(ConfigError) as e:
        get_router("learned", settings)  # nothing trained yet in this MEDQA_HOME
    assert "medqa router train" in e.value.hint
