"""The learned router and the table, trained on result rows over real MIRAGE questions.

The rows are written in the evaluation runner's format; which arm is right is set by a
known rule (the big model gets long vignettes right, the small one short questions), so
the test knows what a working router must learn.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from medqa.cli import app
from medqa.errors import ConfigError
from medqa.evals.datasets import load_items
from medqa.evals.results import ResultRow, write_rows
from medqa.routing import outcomes as oc
from medqa.routing import table as tb
from medqa.routing.learned import LearnedRouter, calibrate_lambda, fit
from medqa.routing.signals import FEATURE_NAMES, extract
from medqa.types import Question

SECONDS = {"big": 4.0, "small": 1.0}  # not in the manifest: cost falls back to seconds


def _hard(item) -> bool:
    return extract(Question(item.question, dict(item.options))).complexity >= 0.4


def rows_for(items, backbones=("big", "small")):
    out = []
    for it in items:
        for b in backbones:
            ok = _hard(it) == (b == "big")
            wrong = next(k for k in sorted(it.options) if k != it.answer)
            choice = it.answer if ok else wrong
            probs = {k: (0.7 if k == choice else 0.3 / (len(it.options) - 1)) for k in it.options}
            out.append(ResultRow(id=it.id, dataset=it.dataset, task=it.task, backbone=b, engine="test",
                                 mode="score", rag="off", answer=it.answer, choice=choice, correct=ok,
                                 probs=probs, seconds=SECONDS[b], config_hash=b))
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    held = {it.id for it in load_items("mirage_subset_1000")}
    train_items = [it for it in load_items("mirage", limit=40) if it.id not in held]
    test_items = load_items("mirage_subset_1000", limit=15)
    d = tmp_path_factory.mktemp("runs")
    (d / "train").mkdir()
    (d / "test").mkdir()
    write_rows(d / "train" / "rows.jsonl", rows_for(train_items))
    write_rows(d / "test" / "rows.jsonl", rows_for(test_items))
    return d


def _load(path):
    o = oc.load([path])
    from medqa.config import Settings

    return o, oc.questions(o.cells, o.dataset, Settings())


def test_outcomes_group_rows_by_question_and_arm(data):
    o, qs = _load(data / "train")
    assert [a.key for a in o.arms] == ["big|norag|score", "small|norag|score"]
    q = next(iter(o.cells))
    assert set(o.cells[q]) == {"big|norag|score", "small|norag|score"} and q in qs
    assert len(o.data_hash) == 64
    with pytest.raises(ConfigError):
        oc.load([data / "nothing-here.jsonl"])


def test_learned_router_learns_which_arm_is_right_and_trades_cost(data, tmp_path):
    train, qs = _load(data / "train")
    test, tq = _load(data / "test")
    r = fit(train, qs, embedder=None)
    ids = test.complete_ids()
    p = r.predict(r.featurizer([tq[q] for q in ids]))
    truth = {a: np.mean([test.cells[q][a.key].correct for q in ids]) for a in r.arms}
    chosen = r.choose(p, 0.0)
    routed = np.mean([test.cells[q][r.arms[j].key].correct for q, j in zip(ids, chosen)])
    assert routed >= max(truth.values()) + 0.2  # it beats both single backbones by far
    # Calibration: the cheaper the target, the cheaper the choices on the training questions.
    ptrain = r.predict(r.featurizer([qs[q] for q in sorted(train.cells)]))
    costs = [r.cost[r.choose(ptrain, r.lambdas[t])].mean() for t in ("100%", "60%", "30%")]
    assert costs[0] >= costs[1] >= costs[2]
    ref = r.cost.max()
    assert costs[2] <= 0.3 * ref + 1e-9 and costs[1] <= 0.6 * ref + 1e-9
    assert calibrate_lambda(r, ptrain, 0.0) > 0 and r.choose(ptrain, 1e6).tolist() == [1] * len(ptrain)
    # A route names a concrete backbone, retrieval, and says why.
    route = r.at("100%").route(tq[ids[0]])
    assert route.backbones[0] in {"big", "small"} and route.retrieve is False
    assert route.explanation.startswith("learned router: expects") and "target 100%" in route.explanation
    # Saved as arrays + JSON and loaded back to the same decisions.
    r.save(tmp_path / "router")
    meta = json.loads((tmp_path / "router" / "router.json").read_text())
    assert meta["data_hash"] == train.data_hash and meta["arms"] == [a.key for a in r.arms]
    back = LearnedRouter.load(tmp_path / "router")
    assert np.allclose(back.predict(r.featurizer([tq[q] for q in ids])), p)
    assert back.lam == r.lam and back.lambdas == r.lambdas
    with pytest.raises(ConfigError):
        LearnedRouter.load(tmp_path / "empty")
    with pytest.raises(ConfigError):
        r.at("5%")


def test_table_rows_and_cli(data, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDQA_HOME", str(tmp_path / "home"))
    train, qs = _load(data / "train")
    test, tq = _load(data / "test")
    r = fit(train, qs, embedder=None)
    rows, notes = tb.build(train, test, r, {**qs, **tq})
    s = {x["name"]: x for x in tb.summarize(rows, test)}
    assert {"big (score, RAG off)", "small (score, RAG off)", "random arm (seeded)", "oracle (cheapest right arm)",
            "signal router", "cascade (small -> big), RAG off", "vote (2 backbones), RAG off"} <= set(s)
    assert sum(n.startswith("learned router, cost target") for n in s) == 3
    assert s["oracle (cheapest right arm)"]["overall"] == 1.0  # exactly one arm is right every time
    assert all(x["n"] == 60 for x in s.values())
    best_single = max(s["big (score, RAG off)"]["overall"], s["small (score, RAG off)"]["overall"])
    assert s["learned router, cost target 100%"]["overall"] > best_single
    # The cascade's cost is the small model plus the big one whenever it escalated.
    cas = s["cascade (small -> big), RAG off"]
    assert 1.0 <= cas["cost"] <= 5.0
    res = CliRunner().invoke(app, ["router", "table", "--train-results", str(data / "train"),
                                   "--test-results", str(data / "test"), "--out", str(tmp_path / "t"),
                                   "--embedder", "none"])
    assert res.exit_code == 0, res.output
    assert "| oracle (cheapest right arm) |" in res.output and "test questions: 60" in res.output
    assert (tmp_path / "t" / "cost_quality.png").stat().st_size > 10_000
    res = CliRunner().invoke(app, ["router", "train", "--results", str(data / "train"), "--embedder", "none",
                                   "--exclude-set", "mirage_subset_1000"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "home" / "router" / "learned" / "router.npz").is_file()
    res = CliRunner().invoke(app, ["router", "report", "--results", str(data / "test"),
                                   "--png", str(tmp_path / "curve.png")])
    assert res.exit_code == 0, res.output
    assert "calibrated: 30%" in res.output and (tmp_path / "curve.png").is_file()
    res = CliRunner().invoke(app, ["router", "explain", "我想预约下周三的心内科门诊，需要怎么挂号？"])
    assert res.exit_code == 0 and "Chinese patient-service question -> general role" in res.output


@pytest.mark.slow
def test_embedding_features_are_cached_per_text():
    from medqa.routing.learned import Featurizer

    f = Featurizer("minilm")
    qs = [Question("What is the dose of aspirin?"), Question("患者，男，45岁，胸痛"),
          Question("What is the dose of aspirin?")]
    x = f(qs)
    assert x.shape == (3, len(FEATURE_NAMES) + 384) and np.allclose(x[0], x[2])
    assert len(f._cache) == 2
    x2 = f(qs[:1])
    assert np.array_equal(x2[0], x[0])


def test_calibrated_cascade_skips_a_confident_guesser_and_trusts_an_honest_model(tmp_path):
    """A backbone sure of every answer but right by chance is never trusted; one whose margin tracks
    correctness is trusted above the margin where it matches the strong backbone."""
    items = load_items("mirage", limit=30)

    def row(it, b, ok, top):
        wrong = next(k for k in sorted(it.options) if k != it.answer)
        choice = it.answer if ok else wrong
        rest = (1 - top) / (len(it.options) - 1)
        probs = {k: (top if k == choice else rest) for k in it.options}
        return ResultRow(id=it.id, dataset=it.dataset, task=it.task, backbone=b, engine="test", mode="score",
                         rag="off", answer=it.answer, choice=choice, correct=ok, probs=probs,
                         seconds=SECONDS.get(b, 1.0), config_hash=b)

    rows = []
    for i, it in enumerate(items):
        rows.append(row(it, "big", i % 5 != 0, 0.6))  # right 80%
        rows.append(row(it, "small", i % 4 == 0, 0.95))  # always sure, right 25%
        honest_ok = i % 3 != 0  # right 2/3, and sure exactly when right
        rows.append(row(it, "honest", honest_ok, 0.9 if honest_ok else 0.3))
    write_rows(tmp_path / "rows.jsonl", rows)
    o = oc.load([tmp_path / "rows.jsonl"])
    arm = {a.backbone: a for a in o.arms}
    m = tb.calibrate_margins(o, [arm["small"], arm["honest"], arm["big"]])
    assert m["small"] == float("inf") and m["big"] == 0.0
    assert 0.0 < m["honest"] <= 0.9 - (0.1 / (len(items[0].options) - 1)) + 1e-6
    row_ = tb._cascade(o, sorted(o.cells), [arm["small"], arm["honest"], arm["big"]], m)
    # Never stops at "small"; stops at "honest" exactly when it is right; else the big one answers.
    assert all(row_.correct[q] == (o.cells[q][arm["honest"].key].correct or o.cells[q][arm["big"].key].correct)
               for q in row_.correct)
    assert "small never (not asked)" in row_.note and "calibrated" in row_.name
    # "small" is never asked, so never paid for: each question costs "honest", plus "big" when escalated.
    assert set(row_.cost.values()) <= {1.0, 1.0 + SECONDS["big"]}


def test_two_configurations_of_one_arm_do_not_mix(data, tmp_path):
    """Rows of an older prompt version (another config hash) for the same arm are an error, not merged."""
    items = load_items("mirage", limit=3)
    rows = rows_for(items, backbones=("big",))
    old = [ResultRow(**{**r.__dict__, "config_hash": "older"}) for r in rows]
    write_rows(tmp_path / "a.jsonl", rows)
    write_rows(tmp_path / "b.jsonl", old)
    with pytest.raises(ConfigError, match="Two configurations"):
        oc.load([tmp_path])
    assert oc.load([tmp_path / "a.jsonl"]).complete_ids()


def test_auto_features_keep_the_embedding_only_when_it_cross_validates_better(data):
    from medqa.routing.learned import fit_auto

    train, qs = _load(data / "train")
    r = fit_auto(train, qs, embedder="minilm")
    choice = r.meta["feature_choice"]
    assert set(choice) == {"signals", "signals + minilm"} and all(v > 0 for v in choice.values())
    assert (r.embedder is None) == (choice["signals"] <= choice["signals + minilm"])
    # Correctness here follows a signal (complexity), so signals alone predict it at least as well.
    assert r.embedder is None


def test_paired_note_compares_on_the_same_questions(data):
    test, _ = _load(data / "test")
    ids = test.complete_ids()
    a, b = tb.Row("a"), tb.Row("b")
    for i, q in enumerate(ids):
        a.add(q, True, 1.0, 1.0)
        b.add(q, i % 2 == 0, 4.0, 1.0)
    note = tb.paired_note(a, b, test)
    assert note.startswith("a against b") and "at 25% of its mean cost" in note and "+" in note.split("points")[0]
