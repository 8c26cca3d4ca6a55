"""Learned triage backstop: logistic regression over character n-grams, cue counts and e5-small sentence embeddings.

The rules miss phrasings nobody wrote down ("she's going a dusky colour"); measured on sets
written after the rules, they caught under two thirds of emergencies. This head catches what
is *like* the labelled emergencies. The sentence embedding (multilingual-e5-small, which reads
Chinese too) carries meaning; character n-grams (TF-IDF, 1-4 characters within words) carry the
small words a sentence embedding blurs:
"stopped", "a bit", "已经止血了", "没有". Cue counts (backstop_words.CUES: settled, well, normal, denied,
acute) pool the synonyms of one idea under one weight, which a thousand rows of n-grams
cannot learn word by word. Its weights are a packaged JSON file, rebuilt with
`medqa safety triage-train`; it only ever sees the dev split.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

HEAD_FILE = Path(__file__).with_name("triage_head.json")
# multilingual-e5-small, "passage: " prefix: on dev's grouped-by-batch CV, 70 false alarms against
# MiniLM's 84 at the same recall (evals/triage/README.md)
EMBEDDER = "e5-small"
TARGET_RECALL = 0.98  # the threshold is the highest whose out-of-fold dev recall reaches this
NGRAMS = (1, 4)  # character n-gram lengths, taken inside whitespace-separated words
MIN_DF = 2  # an n-gram seen in one training message only is noise
NGRAM_WEIGHT = 2.0  # the n-gram block's scale next to the unit-length embedding
C = 16.0  # inverse regularisation; chosen by grouped cross-validation on dev (evals/triage/README.md)
CUE_WEIGHT = 1.0  # the cue block's scale (each cue is min(count, 3) / 3)
CUE_CAP = 3
# In a calm context (triage.calm_context) the head needs to be sure. On every labelled row, the emergencies
# only the head caught in a calm context scored 0.94 or more (out of fold on dev; 0.96-0.97 on blind6, blind7
# and blind9, whose rows it never saw), the calm false alarms 0.51-0.89 (9 on the blind batches); 0.8 keeps
# a margin below the lowest emergency. It was 0.5 (the head's own decision point) until the eighth round.
CALM_THRESHOLD = 0.8
log = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: dict[str, float] = {}


def char_ngrams(text: str, lo: int = NGRAMS[0], hi: int = NGRAMS[1]) -> list[str]:
    """Character n-grams inside each space-padded word of the normalised text (sklearn's char_wb)."""
    from medqa.safety.redflags import normalise

    out = []
    for word in normalise(text).split():
        w = f" {word} "
        for n in range(lo, hi + 1):
            if len(w) < n:
                break
            out.extend(w[i:i + n] for i in range(len(w) - n + 1))
    return out


def cue_names() -> list[str]:
    from medqa.safety.backstop_words import CUES

    return list(CUES)


def cue_features(text: str) -> list[float]:
    """Each cue's match count in the normalised text (English and Chinese patterns), capped and scaled to [0, 1]."""
    from medqa.safety.backstop_words import CUES
    from medqa.safety.redflags import normalise

    norm = normalise(text)
    return [min(len(en.findall(norm)) + len(zh.findall(norm)), CUE_CAP) / CUE_CAP for en, zh in CUES.values()]


def cue_digest() -> str:
    """A fingerprint of the cue patterns: a head trained on other cues must be retrained."""
    from medqa.safety.backstop_words import CUES

    return hashlib.sha256("\n".join(f"{k}\t{en.pattern}\t{zh.pattern}" for k, (en, zh) in CUES.items()).encode()).hexdigest()


@dataclass(frozen=True)
class Head:
    """A linear classifier on [n-gram TF-IDF (l2-normalised, scaled), unit-length sentence embedding]."""

    embedder: str
    coef: tuple[float, ...]  # one per embedding dimension
    intercept: float
    threshold: float
    ngrams: dict[str, tuple[float, float]] = field(default_factory=dict)  # n-gram -> (idf, coef)
    ngram_weight: float = NGRAM_WEIGHT
    cues: dict[str, float] = field(default_factory=dict)  # cue name -> coef
    cue_weight: float = CUE_WEIGHT

    def ngram_score(self, text: str) -> float:
        """The n-gram block's contribution: sublinear tf x idf, l2-normalised, times its coefficients."""
        if not self.ngrams:
            return 0.0
        counts = Counter(g for g in char_ngrams(text) if g in self.ngrams)
        vals = {g: (1.0 + math.log(c)) * self.ngrams[g][0] for g, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vals.values()))
        if not norm:
            return 0.0
        return self.ngram_weight * sum(v * self.ngrams[g][1] for g, v in vals.items()) / norm

    def cue_score(self, text: str) -> float:
        """The cue block's contribution (zero for a head trained without cues)."""
        if not self.cues or not text:
            return 0.0
        vals = dict(zip(cue_names(), cue_features(text)))
        return self.cue_weight * sum(c * vals.get(name, 0.0) for name, c in self.cues.items())

    def prob(self, vec: Sequence[float], text: str = "") -> float:
        """Probability that the message (its embedding and its text) is an emergency."""
        z = self.intercept + sum(c * v for c, v in zip(self.coef, vec)) + self.ngram_score(text) + self.cue_score(text)
        return 1.0 / (1.0 + math.exp(-z))


_head: Head | None = None
_unavailable = False


def load_head(path: Path = HEAD_FILE) -> Head | None:
    """The packaged head, or None when it has not been trained."""
    if not path.is_file():
        return None
    d = json.loads(path.read_text(encoding="utf-8"))
    ngrams = {g: (float(v[0]), float(v[1])) for g, v in d.get("ngrams", {}).items()}
    cues = {k: float(v) for k, v in d.get("cues", {}).items()}
    if cues and d.get("cue_sha256") != cue_digest():
        log.warning("triage: the head at %s was trained on other cue patterns; retrain it (medqa safety triage-train)", path)
    return Head(d["embedder"], tuple(d["coef"]), float(d["intercept"]), float(d["threshold"]),
                ngrams, float(d.get("ngram_weight", NGRAM_WEIGHT)), cues, float(d.get("cue_weight", CUE_WEIGHT)))


def _embed(texts: list[str], embedder: str) -> list[list[float]]:
    from medqa.retrieval.embeddings import get_embedder

    return get_embedder(embedder).embed_documents(texts).tolist()


def scores(texts: list[str]) -> list[float] | None:
    """Emergency probabilities for texts (batched, cached), or None if the backstop cannot run."""
    global _head, _unavailable
    with _lock:
        if _unavailable:
            return None
        if _head is None:
            _head = load_head()
            if _head is None:
                _unavailable = True
                log.warning("triage: no learned head at %s; rules only", HEAD_FILE)
                return None
        todo = [t for t in dict.fromkeys(texts) if t not in _cache]
        if todo:
            try:
                for t, v in zip(todo, _embed(todo, _head.embedder)):
                    _cache[t] = _head.prob(v, t)
            except Exception as e:  # a missing embedding model must not stop triage: rules still run
                _unavailable = True
                log.warning("triage: learned backstop unavailable (%s); rules only", e)
                return None
        return [_cache[t] for t in texts]


def threshold(calm: bool = False) -> float | None:
    """The decision threshold of the loaded head; in a calm context at least CALM_THRESHOLD."""
    if _head is None:
        return None
    return max(_head.threshold, CALM_THRESHOLD) if calm else _head.threshold


def flag(probs, threshold: float, rule, asked, calm):  # noqa: ANN001, ANN201 - numpy arrays
    """What the whole triage flags: a rule hit, or an asked message whose head probability reaches its threshold."""
    import numpy as np

    return rule | (asked & (probs >= np.where(calm, max(threshold, CALM_THRESHOLD), threshold)))


def _features(texts: list[str], emb, vectorizer=None):  # noqa: ANN001, ANN202 - sklearn/scipy types
    """[scaled n-gram TF-IDF | embedding | scaled cues] as one sparse matrix; fits the vectorizer when none is given."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    if vectorizer is None:
        vectorizer = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True, min_df=MIN_DF)
        tf = vectorizer.fit_transform(texts)
    else:
        tf = vectorizer.transform(texts)
    cues = csr_matrix([cue_features(t) for t in texts]) * CUE_WEIGHT
    return hstack([tf * NGRAM_WEIGHT, csr_matrix(emb), cues]).tocsr(), vectorizer


def _fit(texts: list[str], emb, y):  # noqa: ANN001, ANN202
    from sklearn.linear_model import LogisticRegression

    X, vec = _features(texts, emb)
    return LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(X, y), vec


def out_of_fold(rows: list[dict], emb, folds: int = 5, repeats: int = 3, seed: int = 0):  # noqa: ANN001, ANN201
    """Each row's emergency probability from heads that never saw it, averaged over repeated k-fold splits."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    texts = [r["text"] for r in rows]
    y = np.asarray([r["label"] for r in rows])
    oof = np.zeros(len(rows))
    for rep in range(repeats):
        for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed + rep).split(emb, y):
            clf, vec = _fit([texts[i] for i in tr], emb[tr], y[tr])
            oof[te] += clf.predict_proba(_features([texts[i] for i in te], emb[te], vec)[0])[:, 1] / repeats
    return oof


def pick_threshold(oof, y, target: float = TARGET_RECALL) -> float:  # noqa: ANN001
    """The highest threshold (0.01 steps) whose recall on the positives of y reaches target."""
    import numpy as np

    pos = np.asarray(oof)[np.asarray(y) == 1]
    for k in range(95, 4, -1):  # integer hundredths: the stored threshold is exactly the one tested
        if (pos >= k / 100).mean() >= target:
            return k / 100
    return 0.05


def export(clf, vec) -> dict:  # noqa: ANN001 - a fitted LogisticRegression and TfidfVectorizer
    """The fitted weights in the packaged format: embedding coefficients, intercept, cues, n-gram (idf, coef)."""
    n, k = len(vec.vocabulary_), len(cue_names())
    coef = clf.coef_[0]
    return {"coef": [round(float(c), 6) for c in coef[n:len(coef) - k]], "intercept": float(clf.intercept_[0]),
            "cue_weight": CUE_WEIGHT, "cue_sha256": cue_digest(),
            "cues": {name: round(float(c), 6) for name, c in zip(cue_names(), coef[len(coef) - k:])},
            "ngram_weight": NGRAM_WEIGHT,
            "ngrams": {g: [round(float(vec.idf_[j]), 6), round(float(coef[j]), 6)]
                       for g, j in sorted(vec.vocabulary_.items())}}


def train(rows: list[dict], embedder: str = EMBEDDER, folds: int = 5, seed: int = 0) -> dict:
    """Fit the head on rows (text, label) and pick its threshold by out-of-fold recall."""
    import numpy as np

    from medqa.safety.triage import calm_context, general_question, rules_only

    emb = np.asarray(_embed([r["text"] for r in rows], embedder))
    y = np.asarray([r["label"] for r in rows])
    oof = out_of_fold(rows, emb, folds, seed=seed)
    # The rules were written on this split, so rules OR head would look perfect here at any
    # threshold. Pick the threshold on the head alone, over the messages it is asked about
    # (a general question never reaches it): the highest with out-of-fold recall >= target.
    asked = np.asarray([not general_question(r["text"], r["lang"]) for r in rows])
    best = pick_threshold(oof[asked], y[asked])
    # What dev says about the whole triage with a head that never saw the message.
    rule = np.asarray([rules_only(r["text"], r["lang"]).emergency for r in rows])
    calm = np.asarray([calm_context(r["text"]) for r in rows])
    flagged = flag(oof, best, rule, asked, calm)
    langs = np.asarray([r["lang"] for r in rows])
    missed_by_rules = (y == 1) & ~rule
    clf, vec = _fit([r["text"] for r in rows], emb, y)
    digest = hashlib.sha256("\n".join(r["text"] for r in rows).encode()).hexdigest()
    return {"embedder": embedder, "threshold": best, **export(clf, vec),
            "trained_on": {"rows": len(rows), "sha256": digest}, "oof_threshold_target_recall": TARGET_RECALL,
            "dev_out_of_fold": {**_counts(flagged, y, langs)["all"],
                                "head_recall_on_rule_misses": f"{int((flagged & missed_by_rules).sum())}/{int(missed_by_rules.sum())}"}}


def batch_of(row_id: str) -> str:
    """The batch a dev row was written in, read from its id: "dev4-017" -> "dev4"; the first rows
    ("en-", "zh-", written with the rules) -> "first"; the four old blind batches ("blind-000".."blind-179", 45 rows each) -> "oldblind0".."oldblind3"."""
    prefix, _, num = row_id.rpartition("-")
    if prefix in ("en", "zh"):
        return "first"
    if prefix == "blind":
        return f"oldblind{int(num) // 45}"
    return prefix


def _counts(flagged, y, langs) -> dict:  # noqa: ANN001 - numpy arrays
    """Precision, recall and confusion counts, overall and per language."""
    from medqa.safety.evaluate import Scores

    out = {}
    for lang in ("all", "en", "zh"):
        m = langs == lang if lang != "all" else langs == langs
        s = Scores(tp=int((flagged & (y == 1) & m).sum()), fp=int((flagged & (y == 0) & m).sum()),
                   fn=int((~flagged & (y == 1) & m).sum()), tn=int((~flagged & (y == 0) & m).sum()))
        out[lang] = {"precision": round(s.precision, 3), "recall": round(s.recall, 3),
                     "false_positives": s.fp, "false_negatives": s.fn, "negatives": s.fp + s.tn}
    return out


def cross_validate(rows: list[dict], embedder: str = EMBEDDER) -> dict:
    """The whole triage (rules, then this design's head) scored by heads that never saw the message.

    "out_of_fold": 3 x 5 stratified folds, the threshold picked as in `train`. "grouped": each batch
    written after the rules held out in turn, the head and its threshold fitted on the other rows
    (the first rows, written with the rules, always train). Messages are flagged as triage flags them
    (`flag`: the general-question veto and the calm-context threshold included). Rules are as they
    are: they were written on dev, so the rule part of these numbers is in-sample."""
    import numpy as np

    from medqa.safety.triage import calm_context, general_question, rules_only

    texts = [r["text"] for r in rows]
    emb = np.asarray(_embed(texts, embedder))
    y = np.asarray([r["label"] for r in rows])
    langs = np.asarray([r["lang"] for r in rows])
    asked = np.asarray([not general_question(r["text"], r["lang"]) for r in rows])
    rule = np.asarray([rules_only(r["text"], r["lang"]).emergency for r in rows])
    calm = np.asarray([calm_context(r["text"]) for r in rows])
    oof = out_of_fold(rows, emb)
    th = pick_threshold(oof[asked], y[asked])
    report = {"threshold": th, "out_of_fold": _counts(flag(oof, th, rule, asked, calm), y, langs), "grouped": {}}
    batches = np.asarray([batch_of(r["id"]) for r in rows])
    flagged, held = np.zeros(len(rows), bool), np.zeros(len(rows), bool)
    for batch in dict.fromkeys(batches):
        if batch == "first":
            continue
        te, tr = batches == batch, batches != batch
        train_rows = [rows[i] for i in np.flatnonzero(tr)]
        inner = out_of_fold(train_rows, emb[tr], repeats=1)
        bth = pick_threshold(inner[asked[tr]], y[tr][asked[tr]])
        clf, vec = _fit([r["text"] for r in train_rows], emb[tr], y[tr])
        p = clf.predict_proba(_features([texts[i] for i in np.flatnonzero(te)], emb[te], vec)[0])[:, 1]
        flagged[te], held[te] = flag(p, bth, rule[te], asked[te], calm[te]), True
        report["grouped"][batch] = {"threshold": bth, **_counts(flagged[te], y[te], langs[te])["all"]}
    report["grouped"]["all"] = _counts(flagged[held], y[held], langs[held])
    return report


def save(head: dict, path: Path = HEAD_FILE) -> None:
    """Write the head where the package finds it, and forget any loaded one."""
    global _head, _unavailable
    # One line per key and per n-gram: a retrained head reads as a diff of weights, not one huge line.
    lines = [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in head.items() if k != "ngrams"]
    if "ngrams" in head:
        grams = [f"  {json.dumps(g, ensure_ascii=False)}: {json.dumps(v)}" for g, v in head["ngrams"].items()]
        lines.append(' "ngrams": {\n' + ",\n".join(grams) + "\n }")
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    with _lock:
        _head, _unavailable = None, False
        _cache.clear()
