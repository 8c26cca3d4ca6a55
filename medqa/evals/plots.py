"""Report plots (matplotlib, headless): accuracy per task, cost-quality frontier, agreement."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from medqa.evals import metrics
from medqa.evals.datasets import TASK_LABELS as LABELS
from medqa.evals.reference import PUBLISHED

if TYPE_CHECKING:
    from medqa.evals.report import Run



def _plt():
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def accuracy_per_task(runs: Sequence["Run"], path: Path) -> Path:
    """Grouped bars with 95% CI whiskers per task, GPT-3.5 CoT / MedRAG as reference marks."""
    import numpy as np

    plt = _plt()
    tasks = list(dict.fromkeys(r.task for run in runs for r in run.rows)) + ["overall"]
    stats = [metrics.by_task(run.rows) for run in runs]
    x = np.arange(len(tasks))
    w = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(tasks) + 0.4 * len(runs)), 4.2))
    for i, (run, st) in enumerate(zip(runs, stats)):
        acc = [100 * st[t].accuracy if t in st else np.nan for t in tasks]
        lo = [100 * (st[t].accuracy - st[t].ci_low) if t in st else 0 for t in tasks]
        hi = [100 * (st[t].ci_high - st[t].accuracy) if t in st else 0 for t in tasks]
        ax.bar(x + (i - (len(runs) - 1) / 2) * w, acc, w, yerr=[lo, hi], capsize=2, label=run.label)
    for name, style in (("GPT-3.5, chain-of-thought", "k--"), ("GPT-3.5, MedRAG", "k:")):
        ref = PUBLISHED[name]
        vals = [ref.get(t) for t in tasks[:-1]]
        if any(v is not None for v in vals):
            known = [v for v in vals if v is not None]
            vals.append(sum(known) / len(known))
            for j, v in enumerate(vals):
                if v is not None:
                    ax.plot([j - 0.45, j + 0.45], [v, v], style, lw=1,
                            label=f"{name} (published, full set)" if j == 0 else None)
    ax.set_xticks(x, [LABELS.get(t, t) for t in tasks])
    ax.set_ylabel("accuracy, % (95% CI)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False)
    return _save(plt, fig, path)


def frontier(runs: Sequence["Run"], path: Path) -> Path:
    """Overall accuracy against seconds per question; the Pareto-best runs are joined."""
    plt = _plt()
    pts = []
    for run in runs:
        o = metrics.by_task(run.rows)["overall"]
        pts.append((o.seconds_per_q, 100 * o.accuracy, 100 * o.ci_low, 100 * o.ci_high, run.label))
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for s, a, lo, hi, label in pts:
        ax.errorbar([s], [a], yerr=[[a - lo], [hi - a]], fmt="o", capsize=3, label=label)
    best, front = -1.0, []
    for s, a, *_ in sorted(pts):
        if a > best:
            front.append((s, a))
            best = a
    if len(front) > 1:
        ax.plot(*zip(*front), "k-", lw=0.8, alpha=0.6, label="frontier")
    ax.set_xscale("log")
    from matplotlib.ticker import FormatStrFormatter

    for axis in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
        axis(FormatStrFormatter("%g"))
    ax.set_xlabel("seconds per question (log)")
    ax.set_ylabel("overall accuracy, %")
    ax.legend(fontsize=7)
    return _save(plt, fig, path)


def agreement(runs: Sequence["Run"], path: Path) -> Path:
    """Heat-map of the share of common questions on which two runs chose the same letter."""
    plt = _plt()
    names, m = metrics.agreement_matrix({r.label: r.rows for r in runs})
    longest = max((len(n) for n in names), default=10)
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 0.09 * longest + 3, 1.0 * len(names) + 0.05 * longest + 2))
    im = ax.imshow(m, vmin=0, vmax=1, cmap="viridis")
    for i in range(len(names)):
        for j in range(len(names)):
            if m[i, j] == m[i, j]:
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center",
                        color="white" if m[i, j] < 0.6 else "black", fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    fig.colorbar(im, ax=ax, label="agreement")
    return _save(plt, fig, path)


def make_all(runs: Sequence["Run"], out: Path) -> list[tuple[str, Path]]:
    """Every plot of a report, as (title, file) pairs."""
    figs = [("accuracy per task", accuracy_per_task(runs, out / "accuracy_per_task.png")),
            ("cost-quality frontier", frontier(runs, out / "frontier.png"))]
    if len(runs) > 1:
        figs.append(("agreement between runs", agreement(runs, out / "agreement.png")))
    return figs
