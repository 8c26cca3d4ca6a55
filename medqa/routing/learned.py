"""Learned router: per-arm P(correct | question) from evaluation results, chosen by accuracy - lambda x cost.

Each arm (backbone x retrieval x reasoning) gets a logistic regression on the question's
signals and, optionally, its sentence embedding. A route picks the arm maximising
P(correct) - lambda * cost / max_cost; lambda is calibrated RouteLLM-style so that the
mean cost over the training questions meets a target. Saved as plain arrays (npz) plus
JSON, never pickles, so loading a router file cannot run code.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from medqa.errors import ConfigError
from medqa.routing.base import Router
from medqa.routing.outcomes import Arm, Outcomes
from medqa.routing.signals import FEATURE_NAMES, extract
from medqa.types import Question, Route

FORMAT_VERSION = 1
TARGETS = (0.3, 0.6, 1.0)  # cost targets: shares of the best single arm's mean cost
# Inverse L2 strengths tried per arm by cross-validation. The smallest one is, in effect, the arm's
# mean accuracy for every question (sklearn leaves the intercept unpenalised): with few training
# questions and no real signal in the features, CV picks it and the router falls back to the
# best arm instead of chasing noise in 390 feature dimensions.
C_GRID = (1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0)
CV_FOLDS = 5


class Featurizer:
    """Signals (+ embedding) of a question; embeddings are cached per question text."""

    def __init__(self, embedder: str | None = None, cache_size: int = 20000) -> None:
        self.embedder_name = embedder
        self._embedder = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.cache_size = cache_size

    def _model(self):
        if self._embedder is None:
            from medqa.retrieval.embeddings import get_embedder

            self._embedder = get_embedder(self.embedder_name)  # type: ignore[arg-type]
        return self._embedder

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of texts, computing only those not cached."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            for t, v in zip(todo, np.asarray(self._model().embed_documents(todo), dtype=np.float32)):
                self._cache[t] = v
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return np.stack([self._cache[t] for t in texts])

    def signals(self, qs: Sequence[Question]) -> np.ndarray:
        return np.asarray([extract(q).vector() for q in qs], dtype=np.float32)

    def __call__(self, qs: Sequence[Question]) -> np.ndarray:
        """Feature matrix, one row per question."""
        x = self.signals(qs)
        if self.embedder_name:
            x = np.hstack([x, self.embed([q.text for q in qs])])
        return x

    @property
    def names(self) -> list[str]:
        return list(FEATURE_NAMES) + (["embedding"] if self.embedder_name else [])


@dataclass(eq=False)
class LearnedRouter(Router):
    """Chooses the arm with the best expected accuracy minus lambda x cost."""

    arms: list[Arm]
    coef: np.ndarray  # (n_arms, n_features), on standardised features
    intercept: np.ndarray  # (n_arms,)
    mean: np.ndarray  # feature standardisation
    scale: np.ndarray
    cost: np.ndarray  # (n_arms,) mean cost per question on the training data
    accuracy: np.ndarray  # (n_arms,) training accuracy: the vote weights
    lambdas: dict[str, float] = field(default_factory=dict)  # target name -> lambda
    lam: float = 0.0
    target: str = ""
    embedder: str | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.featurizer = Featurizer(self.embedder)

    # ---- prediction ----
    def predict(self, x: np.ndarray) -> np.ndarray:
        """P(correct) per question (rows) and arm (columns) from features."""
        z = ((x - self.mean) / self.scale) @ self.coef.T + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def choose(self, p: np.ndarray, lam: float | None = None) -> np.ndarray:
        """Index of the chosen arm for each row of P(correct)."""
        lam = self.lam if lam is None else lam
        rel = self.cost / max(float(self.cost.max()), 1e-12)
        # The 1e-9 term breaks exact ties (e.g. two constant arms) towards the cheaper arm.
        return np.argmax(p - (lam + 1e-9) * rel, axis=1)

    def probs(self, q: Question) -> np.ndarray:
        return self.predict(self.featurizer([q]))[0]

    def _by_backbone(self, p: np.ndarray) -> dict[str, float]:
        out: dict[str, float] = {}
        for arm, v in zip(self.arms, p):
            out[arm.backbone] = max(out.get(arm.backbone, 0.0), round(float(v), 4))
        return out

    def scores(self, q: Question) -> dict[str, float]:
        return self._by_backbone(self.probs(q))

    def route(self, q: Question) -> Route:
        p = self.probs(q)
        i = int(self.choose(p[None, :])[0])
        arm = self.arms[i]
        scores = self._by_backbone(p)
        target = f", target {self.target}" if self.target else ""
        return Route(
            backbones=(arm.backbone,),
            retrieve=arm.rag,
            reasoning=arm.reasoning,
            scores=scores,
            explanation=(f"learned router: expects {p[i]:.0%} correct at cost {self.cost[i]:.2f} "
                         f"(lambda {self.lam:.3g}{target}) -> {arm.backbone}, retrieval "
                         f"{'on' if arm.rag else 'off'}{', reasoning on' if arm.reasoning else ''}"),
        )

    def at(self, target: str) -> "LearnedRouter":
        """The same router using the lambda calibrated for `target` (e.g. '60%')."""
        if target not in self.lambdas:
            raise ConfigError(f"No cost target {target!r} in this router.",
                              f"Calibrated targets: {', '.join(self.lambdas)}.")
        r = replace(self, lam=self.lambdas[target], target=target)
        r.featurizer = self.featurizer  # share the embedding cache
        return r

    def vote_weights(self) -> dict[str, float]:
        """Backbone -> best calibrated accuracy of its arms, for weighted votes."""
        w: dict[str, float] = {}
        for a, acc in zip(self.arms, self.accuracy):
            w[a.backbone] = max(w.get(a.backbone, 0.0), float(acc))
        return w

    # ---- persistence: arrays in npz, the rest in JSON ----
    def save(self, out: Path) -> Path:
        """Write router.npz and router.json into folder `out`."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        np.savez(out / "router.npz", coef=self.coef, intercept=self.intercept, mean=self.mean,
                 scale=self.scale, cost=self.cost, accuracy=self.accuracy)
        meta = {**self.meta, "format": FORMAT_VERSION, "arms": [a.key for a in self.arms],
                "lambdas": self.lambdas, "lambda": self.lam, "target": self.target,
                "embedder": self.embedder}
        (out / "router.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
        return out

    @classmethod
    def load(cls, folder: Path) -> "LearnedRouter":
        """A router saved by `save` (or `medqa router train`)."""
        folder = Path(folder)
        if not (folder / "router.json").is_file() or not (folder / "router.npz").is_file():
            raise ConfigError(f"No trained router in {folder}.",
                              "Train one: medqa router train --results <run files> --out " + str(folder))
        meta = json.loads((folder / "router.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ConfigError(f"{folder} holds router format {meta.get('format')}, not {FORMAT_VERSION}.",
                              "Retrain it with this version: medqa router train.")
        with np.load(folder / "router.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return cls(arms=[Arm.from_key(k) for k in meta["arms"]], lambdas=meta["lambdas"],
                   lam=meta["lambda"], target=meta.get("target", ""), embedder=meta.get("embedder"),
                   meta={k: v for k, v in meta.items() if k not in {"arms", "lambdas", "lambda", "target"}},
                   **arrays)


def calibrate_lambda(router: LearnedRouter, p: np.ndarray, budget: float, iters: int = 50) -> float:
    """The smallest lambda whose choices on `p` cost at most `budget` per question on average."""
    def mean_cost(lam: float) -> float:
        return float(router.cost[router.choose(p, lam)].mean())

    if mean_cost(0.0) <= budget:
        return 0.0
    lo, hi = 0.0, 1.0
    while mean_cost(hi) > budget and hi < 1e6:
        hi *= 2
    for _ in range(iters):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if mean_cost(mid) <= budget else (mid, hi)
    return hi


def fit_arm(xs: np.ndarray, y: np.ndarray, C: float | None,
            seed: int = 0) -> tuple[np.ndarray, float, float, float | None]:
    """(coef, intercept, C, out-of-fold log-loss) of one arm's logistic regression; C=None picks C by that loss."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    if len(set(y.tolist())) < 2:  # always right or always wrong: a constant, smoothed away from 0/1
        prior = (y.sum() + 0.5) / (len(y) + 1.0)
        return np.zeros(xs.shape[1]), float(np.log(prior / (1 - prior))), 0.0, None
    folds = min(CV_FOLDS, int(np.bincount(y).min()))
    best: float | None = None
    if folds >= 2:
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        grid = C_GRID if C is None else (C,)
        loss = [-cross_val_score(LogisticRegression(C=c, max_iter=2000), xs, y, cv=cv,
                                 scoring="neg_log_loss").mean() for c in grid]
        C, best = grid[int(np.argmin(loss))], float(min(loss))
    C = C_GRID[0] if C is None else C
    m = LogisticRegression(C=C, max_iter=2000).fit(xs, y)
    return m.coef_[0], float(m.intercept_[0]), float(C), best


def fit(outcomes: Outcomes, qs: Mapping[str, Question], embedder: str | None = None,
        C: float | None = None, targets: Sequence[float] = TARGETS, default_target: float = 0.6) -> LearnedRouter:
    """Fit one logistic regression per arm (C per arm by CV unless given) and calibrate lambda per cost target."""
    arms = outcomes.arms
    ids = sorted(q for q in outcomes.cells if q in qs)
    if not arms or len(ids) < 2:
        raise ConfigError("Too few result rows to train a router.", "Evaluate more questions first.")
    feat = Featurizer(embedder)
    x = feat([qs[q] for q in ids])
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-6] = 1.0
    xs = (x - mean) / scale
    coef = np.zeros((len(arms), x.shape[1]))
    intercept = np.zeros(len(arms))
    cost, acc, n = np.zeros(len(arms)), np.zeros(len(arms)), np.zeros(len(arms), int)
    chosen_c: dict[str, float] = {}
    losses: list[tuple[float, int]] = []
    for j, arm in enumerate(arms):
        rows = [i for i, q in enumerate(ids) if arm.key in outcomes.cells[q]]
        y = np.asarray([outcomes.cells[ids[i]][arm.key].correct for i in rows], dtype=int)
        cost[j] = np.mean([outcomes.cells[ids[i]][arm.key].cost for i in rows])
        acc[j], n[j] = y.mean(), len(rows)
        coef[j], intercept[j], chosen_c[arm.key], loss = fit_arm(xs[rows], y, C)
        if loss is not None:
            losses.append((loss, len(rows)))
    import sklearn

    router = LearnedRouter(arms=arms, coef=coef, intercept=intercept, mean=mean, scale=scale, cost=cost,
                           accuracy=acc, embedder=embedder,
                           meta={"data_hash": outcomes.data_hash, "n_questions": len(ids),
                                 "n_per_arm": {a.key: int(k) for a, k in zip(arms, n)},
                                 "C": C if C is not None else "cv", "C_per_arm": chosen_c,
                                 "cv_log_loss": (sum(v * n for v, n in losses) / sum(n for _, n in losses)
                                                 if losses else None),
                                 "features": feat.names, "sklearn": sklearn.__version__})
    router.featurizer = feat  # keep the training embeddings cached
    p = router.predict(x)
    best = int(np.argmax(acc))
    router.meta["targets"] = {}
    for t in targets:
        name, budget = f"{t:.0%}", float(t * cost[best])
        lam = router.lambdas[name] = calibrate_lambda(router, p, budget)
        achieved = float(cost[router.choose(p, lam)].mean())
        # A budget below the cheapest arm cannot be met: the router then always takes the cheapest.
        router.meta["targets"][name] = {"budget": budget, "train_cost": achieved, "met": achieved <= budget + 1e-9}
    router.meta["reference_arm"] = arms[best].key
    return router.at(f"{default_target:.0%}") if f"{default_target:.0%}" in router.lambdas else router


def fit_auto(outcomes: Outcomes, qs: Mapping[str, Question], embedder: str = "minilm",
             C: float | None = None) -> LearnedRouter:
    """Signals alone, or signals + the question embedding: whichever predicts the arms' correctness
    better out of fold (mean 5-fold log-loss over the arms). With a few hundred training questions
    the 384 embedding dimensions tend to fit noise; with thousands they may carry real signal."""
    plain, rich = fit(outcomes, qs, embedder=None, C=C), fit(outcomes, qs, embedder=embedder, C=C)
    losses = {"signals": plain.meta["cv_log_loss"], f"signals + {embedder}": rich.meta["cv_log_loss"]}
    pick = rich if (rich.meta["cv_log_loss"] or np.inf) < (plain.meta["cv_log_loss"] or np.inf) else plain
    pick.meta["feature_choice"] = losses
    return pick
