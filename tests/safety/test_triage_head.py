"""The learned triage backstop's packaged head: features and probabilities held against sklearn."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from medqa.safety import learned
from medqa.safety.redflags import normalise

TEXTS = [
    "Crushing chest pain, sweating", "No chest pain, just a cough", "我胸口痛得厉害，出冷汗",
    "没有胸痛，只是咳嗽", "bled a bit and then stopped", "blood everywhere, won't stop bleeding",
    "有点头晕，休息就好了", "突然说不出话，右手没力气", "My 4-year-old's temp is 38.4, playing happily",
    "twin A (7 weeks) is burning up, 38.7",
]
LABELS = [1, 0, 1, 0, 0, 1, 0, 1, 0, 1]


@pytest.mark.parametrize("text", TEXTS)
def test_char_ngrams_are_sklearns_char_wb(text: str) -> None:
    # Oracle: the packaged head computes its own n-grams at run time; they must be sklearn's.
    ref = TfidfVectorizer(analyzer="char_wb", ngram_range=learned.NGRAMS, lowercase=False).build_analyzer()
    assert learned.char_ngrams(text) == ref(normalise(text))


def test_packaged_format_reproduces_sklearn_probabilities() -> None:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(len(TEXTS), 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    y = np.asarray(LABELS)
    clf, vec = learned._fit(TEXTS, emb, y)
    want = clf.predict_proba(learned._features(TEXTS, emb, vec)[0])[:, 1]
    d = learned.export(clf, vec)
    assert set(d["cues"]) == set(learned.cue_names())
    head = learned.Head("none", tuple(d["coef"]), d["intercept"], 0.5,
                        {g: tuple(v) for g, v in d["ngrams"].items()}, d["ngram_weight"], d["cues"], d["cue_weight"])
    got = [head.prob(e, t) for e, t in zip(emb, TEXTS)]
    assert np.allclose(got, want, atol=1e-4)
    assert head.prob(emb[0], "") == pytest.approx(  # no text: the embedding alone speaks
        1 / (1 + math.exp(-(d["intercept"] + float(np.dot(d["coef"], emb[0]))))), abs=1e-9)


def test_saved_head_loads_back(tmp_path: Path) -> None:
    d = {"embedder": "minilm-st", "threshold": 0.4, "coef": [0.5, -0.5], "intercept": 0.1, "ngram_weight": 2.0,
         "ngrams": {" no ": [3.0, -1.5], "血": [2.0, 0.7]}}
    path = tmp_path / "head.json"
    learned.save(d, path)
    head = learned.load_head(path)
    assert head is not None and head.threshold == 0.4 and head.ngrams[" no "] == (3.0, -1.5)
    assert json.loads(path.read_text(encoding="utf-8"))["ngrams"]["血"] == [2.0, 0.7]
    # A head written before the n-gram block existed still loads: the embedding alone speaks.
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"embedder": "minilm-st", "coef": [1.0, 0.0], "intercept": 0.0, "threshold": 0.3}))
    head = learned.load_head(old)
    assert head is not None and head.ngram_score("chest pain") == 0.0 and head.cue_score("bleeding has stopped") == 0.0
    assert head.prob([1.0, 0.0], "chest pain") == pytest.approx(1 / (1 + math.exp(-1.0)))


# Cue words that emergencies use too must not count for the calming cues.
CUE_CASES = [
    ("Cut my thumb, bleeding has stopped, plaster on", "settled", True),
    ("孩子流鼻血，按了几分钟就止住了", "settled", True),
    ("She hasn't eaten in days and stopped answering texts", "settled", False),
    ("我在车库里把绳子挂好了", "settled", False),
    ("她昏过去了，一直没醒", "settled", False),
    ("含了硝酸甘油也不缓解", "settled", False),
    ("3 week old, temperature 38.3, not feeding well", "well", False),
    ("She's eating and drinking normally and playing", "well", True),
    ("朋友突然倒下，呼吸不正常", "normal", False),
    ("说话不清楚", "normal", False),
    ("血氧97%，呼吸平稳", "normal", True),
    ("病人否认胸闷胸痛，无呼吸困难", "denied", True),
    ("病人无意识", "denied", False),
]


@pytest.mark.parametrize("text,cue,fires", CUE_CASES)
def test_cue_features(text: str, cue: str, fires: bool) -> None:
    vals = dict(zip(learned.cue_names(), learned.cue_features(text)))
    assert (vals[cue] > 0) == fires, (text, vals)
    assert all(0.0 <= v <= 1.0 for v in vals.values())


def test_packaged_head_matches_the_cue_patterns() -> None:
    # A head trained before the cue patterns changed would weigh the wrong counts: retrain it.
    head = json.loads(learned.HEAD_FILE.read_text(encoding="utf-8"))
    assert head["cue_sha256"] == learned.cue_digest()
    assert list(head["cues"]) == learned.cue_names()


def test_threshold_is_the_highest_meeting_the_recall_target() -> None:
    oof = np.asarray([0.9, 0.8, 0.7, 0.36, 0.2, 0.6, 0.1])
    y = np.asarray([1, 1, 1, 1, 0, 0, 0])
    assert learned.pick_threshold(oof, y, target=1.0) == 0.36
    assert learned.pick_threshold(oof, y, target=0.75) == 0.7


def test_batch_of_reads_the_writing_batch_from_the_id() -> None:
    assert learned.batch_of("dev4-017") == "dev4"
    assert learned.batch_of("blind2-004") == "blind2"
    assert learned.batch_of("en-012") == learned.batch_of("zh-140") == "first"
    assert [learned.batch_of(f"blind-{i:03d}") for i in (0, 44, 45, 179)] == ["oldblind0", "oldblind0", "oldblind1", "oldblind3"]


def test_packaged_head_was_trained_on_dev_only() -> None:
    from medqa.safety.evaluate import load_triage_set

    head = json.loads(learned.HEAD_FILE.read_text(encoding="utf-8"))
    dev = [r["text"] for r in load_triage_set() if r["split"] == "dev"]
    assert head["trained_on"]["rows"] == len(dev)
    import hashlib

    assert head["trained_on"]["sha256"] == hashlib.sha256("\n".join(dev).encode()).hexdigest()
