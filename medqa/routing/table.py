"""Offline comparison of routing strategies on cached evaluation results: the MIRAGE table.

Every arm's answer to every test question is already in the run files, so each strategy
(single arms, random, oracle, signal router, learned router at three cost targets,
cascade, vote) is replayed without calling a model: reruns cost nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from medqa.evals.metrics import bootstrap_ci
from medqa.routing import strategies as st
from medqa.routing.learned import LearnedRouter
from medqa.routing.outcomes import Arm, Cell, Outcomes
from medqa.routing.signal_router import SignalRouter, load_rules
from medqa.types import Question, Route

TASK_ORDER = ("mmlu", "medqa", "medmcqa", "pubmedqa", "cmmlu")


@dataclass
class Row:
    """One strategy's replayed outcome per test question."""

    name: str
    correct: dict[str, bool] = field(default_factory=dict)
    cost: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def add(self, q: str, correct: bool, cost: float, seconds: float) -> None:
        self.correct[q], self.cost[q], self.seconds[q] = bool(correct), float(cost), float(seconds)


def _from_picks(name: str, test: Outcomes, ids: Sequence[str], pick: Callable[[str], Arm], note: str = "") -> Row:
    row = Row(name, note=note)
    for q in ids:
        c = test.cells[q][pick(q).key]
        row.add(q, c.correct, c.cost, c.seconds)
    return row


def nearest_arm(route: Route, arms: Sequence[Arm]) -> Arm:
    """The arm a route asks for, or the closest one that was evaluated."""
    want = Arm(route.backbones[0], route.retrieve, route.reasoning)
    for cond in (lambda a: a == want,
                 lambda a: (a.backbone, a.rag) == (want.backbone, want.rag),
                 lambda a: a.backbone == want.backbone,
                 lambda a: (a.rag, a.reasoning) == (want.rag, want.reasoning)):
        hit = [a for a in arms if cond(a)]
        if hit:
            return hit[0]
    return arms[0]


def bind_roles(arms: Sequence[Arm], accuracy: Mapping[str, float], cost: Mapping[str, float]) -> dict[str, str]:
    """Roles bound to evaluated backbones: reasoning/general -> most accurate, efficient -> cheapest."""
    backbones = sorted({a.backbone for a in arms})
    best = max(backbones, key=lambda b: (accuracy.get(b, 0.0), -cost.get(b, 0.0)))
    cheap = min(backbones, key=lambda b: (cost.get(b, 0.0), -accuracy.get(b, 0.0)))
    return {"reasoning": best, "general": best, "efficient": cheap}


def _target_note(router: LearnedRouter, target: str) -> str:
    t = router.meta.get("targets", {}).get(target)
    note = f"lambda {router.lambdas[target]:.4g}"
    if t:
        note += f"; on the training questions: mean cost {t['train_cost']:.2f} for a budget of {t['budget']:.2f}"
        note += "" if t["met"] else " (unreachable: below the cheapest arm, so it always takes the cheapest)"
    return note


def calibrate_margins(train: Outcomes, chain: Sequence[Arm], min_rows: int = 10) -> dict[str, float]:
    """Per-backbone cascade thresholds from training results.

    Each arm but the last gets the smallest margin above which, on the training questions,
    its answers are right at least as often as the last (most trusted) arm's on the same
    questions, over at least `min_rows` of them. An arm with no such margin gets infinity:
    its confidence carries no signal, so the cascade never stops there (a model that always
    answers "A" with certainty is skipped, not trusted).
    """
    last = chain[-1]
    out = {last.backbone: 0.0}
    for arm in chain[:-1]:
        pairs = sorted(((c[arm.key].margin, c[arm.key].correct, c[last.key].correct)
                        for c in train.cells.values()
                        if arm.key in c and last.key in c and c[arm.key].margin is not None), reverse=True)
        best, right, ref = float("inf"), 0, 0
        for n, (m, ok, ok_last) in enumerate(pairs, 1):
            right, ref = right + ok, ref + ok_last
            if n >= min_rows and right >= ref and (n == len(pairs) or pairs[n][0] < m):
                best = m  # every training answer with margin >= m is accepted here
        out[arm.backbone] = best
    return out


def _features_note(router: LearnedRouter) -> str:
    choice = router.meta.get("feature_choice")
    used = "signals + " + router.embedder if router.embedder else "signals only"
    if not choice:
        return used
    return used + " (chosen by 5-fold log-loss on the training results: " + ", ".join(
        f"{k} {v:.4f}" for k, v in choice.items() if v is not None) + ")"


def _cascade(test: Outcomes, ids: Sequence[str], chain: Sequence[Arm], min_margin: st.Margins) -> Row:
    calibrated = isinstance(min_margin, Mapping)
    row = Row(f"cascade{', calibrated' if calibrated else ''} "
              f"({' -> '.join(a.backbone for a in chain)}), RAG {'on' if chain[0].rag else 'off'}")
    escalated = 0
    asked = [a for a in chain if a.backbone in st.cascade_order([c.backbone for c in chain], min_margin)]
    for q in ids:
        cost = secs = 0.0
        cell: Cell | None = None
        for i, a in enumerate(asked):
            cell = test.cells[q][a.key]
            cost, secs = cost + cell.cost, secs + cell.seconds
            sure = cell.choice is not None and not st.needs_escalation(
                st.Candidate(a.backbone, cell.choice, cell.choice, margin=cell.margin), min_margin)
            if sure or i == len(asked) - 1:
                escalated += i > 0
                break
        assert cell is not None
        row.add(q, cell.correct, cost, secs)
    if isinstance(min_margin, Mapping):
        rule = "margins from the training results: " + ", ".join(
            f"{b} {'never (not asked)' if m == float('inf') else f'>= {m:.3f}'}" for b, m in min_margin.items())
    else:
        rule = f"escalates when the option-probability margin < {min_margin:g}"
    row.note = f"{rule}; {escalated}/{len(ids)} escalated"
    return row


def _vote(test: Outcomes, ids: Sequence[str], arms: Sequence[Arm], weights: Mapping[str, float],
          min_agreement: float) -> Row:
    row = Row(f"vote ({len(arms)} backbones), RAG {'on' if arms[0].rag else 'off'}")
    split = 0
    for q in ids:
        cells = {a.backbone: test.cells[q][a.key] for a in arms}
        cands = [st.Candidate(b, c.choice or "", c.choice) for b, c in cells.items()]
        d = st.vote(cands, weights)
        split += d.agreement < min_agreement
        row.add(q, cells[d.backbone].correct, sum(c.cost for c in cells.values()),
                max(c.seconds for c in cells.values()))  # voters run in parallel
    row.note = (f"weighted by training accuracy; agreement < {min_agreement:g} (the answer would say the "
                f"models disagree) on {split}/{len(ids)}; latency = slowest voter")
    return row


def build(train: Outcomes, test: Outcomes, router: LearnedRouter, questions: Mapping[str, Question],
          min_margin: float = 0.2, min_agreement: float = 0.5, seed: int = 0) -> tuple[list[Row], list[str]]:
    """Every strategy's row on the test questions all arms answered; returns (rows, notes)."""
    arms = [a for a in router.arms if a in set(test.arms)]
    ids = test.complete_ids(arms)
    if not ids:
        raise ValueError("no test question was answered by every trained arm")
    acc_b: dict[str, float] = {}
    cost_b: dict[str, float] = {}
    for a, acc, c in zip(router.arms, router.accuracy, router.cost):
        if not a.rag and not a.reasoning or a.backbone not in acc_b:
            acc_b[a.backbone], cost_b[a.backbone] = float(acc), float(c)
    rows = [_from_picks(a.label, test, ids, lambda q, a=a: a) for a in arms]
    rng = np.random.default_rng(seed)
    picks = {q: arms[int(rng.integers(len(arms)))] for q in ids}
    rows.append(_from_picks("random arm (seeded)", test, ids, picks.__getitem__))
    oracle = Row("oracle (cheapest right arm)")
    for q in ids:
        cells = [test.cells[q][a.key] for a in arms]
        right = [c for c in cells if c.correct] or cells
        best = min(right, key=lambda c: c.cost)
        oracle.add(q, any(c.correct for c in cells), best.cost, best.seconds)
    rows.append(oracle)
    roles = bind_roles(arms, acc_b, cost_b)
    sig = SignalRouter(rules=tuple(load_rules()), roles=roles)
    routes = {q: sig.route(questions[q]) for q in ids}
    wanted = {q: Arm(r.backbones[0], r.retrieve, r.reasoning) for q, r in routes.items()}
    missing = sum(w not in arms for w in wanted.values())
    rows.append(_from_picks("signal router", test, ids, lambda q: nearest_arm(routes[q], arms),
                            note="roles bound to evaluated backbones: " + ", ".join(f"{k}={v}" for k, v in roles.items())
                            + f"; {missing}/{len(ids)} routes asked for an arm not evaluated (retrieval or "
                            "reasoning setting): the nearest evaluated arm answered"))
    x = router.featurizer([questions[q] for q in ids])
    p = router.predict(x)
    for target in router.lambdas:
        choice = router.choose(p, router.lambdas[target])
        chosen = {q: router.arms[int(j)] for q, j in zip(ids, choice)}
        rows.append(_from_picks(f"learned router, cost target {target}", test, ids,
                                lambda q: nearest_arm(Route((chosen[q].backbone,), chosen[q].rag,
                                                            reasoning=chosen[q].reasoning), arms),
                                note=_target_note(router, target)))
    for rag in (False, True):
        chain = sorted((a for a in arms if a.rag == rag and not a.reasoning), key=lambda a: cost_b.get(a.backbone, 0))
        if len(chain) >= 2:
            rows.append(_cascade(test, ids, chain, min_margin))
            rows.append(_cascade(test, ids, chain, calibrate_margins(train, chain)))
            rows.append(_vote(test, ids, chain, router.vote_weights(), min_agreement))
    notes = [f"test questions: {len(ids)} (answered by all {len(arms)} arms); training questions: "
             f"{router.meta.get('n_questions')}; training data sha256 {str(router.meta.get('data_hash'))[:12]}",
             "learned router features: " + _features_note(router),
             "cost: reference CPU-seconds per question (manifest cost_per_1k x tokens; measured seconds "
             "when token counts are missing); latency: measured wall seconds per question"]
    ref = Arm.from_key(router.meta["reference_arm"]) if router.meta.get("reference_arm") else None
    ref_row = next((r for r in rows if ref is not None and r.name == ref.label), None)
    if ref_row is not None:
        notes += [paired_note(r, ref_row, test) for r in rows if r.name.startswith("learned router")]
    return rows, notes


def paired_note(row: Row, ref: Row, test: Outcomes) -> str:
    """Accuracy difference to `ref` on the same questions (mean over tasks, bootstrap within tasks) and cost ratio."""
    by_task: dict[str, list[float]] = {}
    for q in row.correct:
        by_task.setdefault(test.task[q], []).append(float(row.correct[q]) - float(ref.correct[q]))
    diff = float(np.mean([np.mean(v) for v in by_task.values()]))
    lo, hi = bootstrap_ci(list(by_task.values()))
    cost = np.mean(list(row.cost.values())) / max(np.mean(list(ref.cost.values())), 1e-12)
    return (f"{row.name} against {ref.name} (the most accurate arm on the training questions), same questions: "
            f"{100 * diff:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}] (paired bootstrap 95% CI), "
            f"at {cost:.0%} of its mean cost")


def _acc(row: Row, ids: Sequence[str]) -> tuple[float, float, float, int]:
    vals = [row.correct[q] for q in ids]
    if not vals:
        return float("nan"), float("nan"), float("nan"), 0
    lo, hi = bootstrap_ci([vals])
    return float(np.mean(vals)), lo, hi, len(vals)


def summarize(rows: Sequence[Row], test: Outcomes) -> list[dict]:
    """Per-row accuracy per task with 95% CI, overall (mean of tasks), mean cost and latency."""
    out = []
    for r in rows:
        ids = list(r.correct)
        tasks = [t for t in TASK_ORDER if any(test.task[q] == t for q in ids)]
        per = {t: _acc(r, [q for q in ids if test.task[q] == t]) for t in tasks}
        out.append({"name": r.name, "tasks": per, "n": len(ids),
                    "overall": float(np.mean([v[0] for v in per.values()])),
                    "cost": float(np.mean(list(r.cost.values()))),
                    "seconds": float(np.mean(list(r.seconds.values()))), "note": r.note})
    return out


def markdown(summary: Sequence[dict], notes: Sequence[str]) -> str:
    """The table as Markdown, with the sample sizes beside the results."""
    tasks = [t for t in TASK_ORDER if any(t in s["tasks"] for s in summary)]
    head = "| strategy | " + " | ".join(f"{t} % [95% CI] (n)" for t in tasks) + " | overall % | cost/q | latency s/q |"
    lines = [head, "|" + "---|" * (len(tasks) + 4)]
    for s in summary:
        cells = []
        for t in tasks:
            a, lo, hi, n = s["tasks"].get(t, (float("nan"),) * 3 + (0,))
            cells.append(f"{100 * a:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] ({n})")
        lines.append(f"| {s['name']} | " + " | ".join(cells) +
                     f" | {100 * s['overall']:.1f} | {s['cost']:.2f} | {s['seconds']:.2f} |")
    lines += [""] + [f"- {n}" for n in notes] + [f"- {s['name']}: {s['note']}" for s in summary if s["note"]]
    return "\n".join(lines) + "\n"


def plot(summary: Sequence[dict], curve: Sequence[dict], path: Path) -> Path:
    """Cost-quality PNG: every strategy as a point, the learned router's lambda sweep as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 6))
    if curve:
        curve = sorted(curve, key=lambda c: c["cost"])
        ax.plot([c["cost"] for c in curve], [100 * c["accuracy"] for c in curve], "-", color="tab:blue",
                alpha=0.5, label="learned router (lambda sweep)")
    # Numbered points with the names in a legend beside the plot: long names never overlap.
    for i, s in enumerate(summary, 1):
        ax.scatter(s["cost"], 100 * s["overall"], s=36, label=f"{i}. {s['name']}")
        ax.annotate(str(i), (s["cost"], 100 * s["overall"]), fontsize=8, xytext=(4, 3), textcoords="offset points")
    ax.set_xlabel("mean cost per question (reference CPU-seconds)")
    ax.set_ylabel("accuracy, mean over tasks (%)")
    ax.set_title("medqa router: cost vs quality")
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def curve(router: LearnedRouter, test: Outcomes, questions: Mapping[str, Question], points: int = 25) -> list[dict]:
    """The learned router's accuracy and mean cost on `test` as lambda sweeps from 0 up."""
    arms = [a for a in router.arms if a in set(test.arms)]
    ids = test.complete_ids(arms)
    if not ids:
        return []
    p = router.predict(router.featurizer([questions[q] for q in ids]))
    out = []
    # Geometric steps: from "best accuracy whatever the cost" (0) to "always the cheapest" (100).
    for lam in [0.0, *np.geomspace(1e-3, 100.0, points - 1)]:
        choice = router.choose(p, float(lam))
        cells = [test.cells[q][nearest_arm(Route((router.arms[j].backbone,), router.arms[j].rag,
                                                 reasoning=router.arms[j].reasoning), arms).key]
                 for q, j in zip(ids, choice)]
        by_task: dict[str, list[bool]] = {}
        for q, c in zip(ids, cells):
            by_task.setdefault(test.task[q], []).append(c.correct)
        out.append({"lambda": float(lam), "cost": float(np.mean([c.cost for c in cells])),
                    "accuracy": float(np.mean([np.mean(v) for v in by_task.values()]))})
    return out


def write(out: Path, summary: Sequence[dict], notes: Sequence[str], sweep: Sequence[dict]) -> list[Path]:
    """table.md, table.json and cost_quality.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    md = out / "table.md"
    md.write_text(markdown(summary, notes), encoding="utf-8")
    js = out / "table.json"
    js.write_text(json.dumps({"rows": list(summary), "notes": list(notes), "curve": list(sweep)}, indent=2),
                  encoding="utf-8")
    return [md, js, plot(summary, sweep, out / "cost_quality.png")]
