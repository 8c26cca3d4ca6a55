"""Reports: Markdown and HTML tables with bootstrap CIs, cost, calibration, agreement and plots,
beside MIRAGE's published rows."""
from __future__ import annotations

import html as _html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from medqa.errors import MedQAError
from medqa.evals import metrics
from medqa.evals.datasets import TASK_LABELS
from medqa.evals.reference import PUBLISHED
from medqa.evals.results import ResultRow, read_rows



@dataclass(frozen=True)
class Run:
    """One configuration's rows, with a short label for tables and plots."""

    label: str
    path: Path
    config: dict
    rows: tuple[ResultRow, ...]

    @property
    def oracle_in_corpus(self) -> bool:
        return any(r.oracle_in_corpus for r in self.rows)


def load_runs(paths: Sequence[Path]) -> list[Run]:
    """Runs from files or folders of *.jsonl (their .config.json sidecars give the labels)."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.jsonl")) if p.is_dir() else [p])
    if not files:
        raise MedQAError(f"No run files in {', '.join(map(str, paths))}.", "Run `medqa eval qa` first.")
    runs = []
    for f in files:
        rows = tuple(read_rows(f))
        if not rows:
            continue
        side = f.with_suffix(".config.json")
        cfg = json.loads(side.read_text()) if side.exists() else {}
        r0 = rows[0]
        who = cfg.get("backbone", r0.backbone)
        label = f"{who} · {r0.mode} · rag {r0.rag}" + (f" k={r0.k}" if r0.rag != "off" else "")
        runs.append(Run(label=label, path=f, config=cfg, rows=rows))
    return runs


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f}"


def _cell(s: metrics.GroupStats) -> str:
    return f"{_pct(s.accuracy)} [{_pct(s.ci_low)}, {_pct(s.ci_high)}]"


def _tasks(runs: Sequence[Run]) -> list[str]:
    seen: list[str] = []
    for r in runs:
        for row in r.rows:
            if row.task not in seen:
                seen.append(row.task)
    return seen


def main_table(runs: Sequence[Run]) -> list[str]:
    """Markdown lines: accuracy [95% CI] per task and overall, cost and calibration per run."""
    tasks = _tasks(runs)
    head = ["configuration", "n"] + [TASK_LABELS.get(t, t) for t in tasks] + [
        "overall", "s/question", "CPU s/q", "prompt tok/q", "ECE", "top letter", "unparsed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        st = metrics.by_task(r.rows)
        ece = metrics.expected_calibration_error(r.rows)
        cells = [r.label, str(len(r.rows))]
        for t in tasks:
            c = _cell(st[t]) if t in st else "–"
            if t == "pubmedqa" and r.oracle_in_corpus:
                c += " (oracle-in-corpus)"
            cells.append(c)
        o = st["overall"]
        cpu = [x.cpu_seconds for x in r.rows if x.cpu_seconds is not None]
        cpu_cell = f"{o.cpu_seconds_per_q:.2f}" + (f" (n={len(cpu)})" if len(cpu) < len(r.rows) else "") \
            if o.cpu_seconds_per_q is not None else "–"
        cells += [f"**{_cell(o)}**", f"{o.seconds_per_q:.2f}", cpu_cell,
                  f"{o.prompt_tokens_per_q:.0f}" if o.prompt_tokens_per_q else "–",
                  f"{ece:.3f}" if ece is not None else "–", _top_letter(r.rows), str(o.unparsed)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _top_letter(rows: Sequence[ResultRow]) -> str:
    """The most chosen letter and its share: small models often answer one letter whatever the question."""
    from collections import Counter

    c = Counter(r.choice for r in rows if r.choice)
    if not c:
        return "–"
    letter, n = c.most_common(1)[0]
    return f"{letter} {100 * n / len(rows):.0f}%"


def reference_table(tasks: Sequence[str]) -> list[str]:
    tasks = [t for t in tasks if t in ("mmlu", "medqa", "medmcqa", "pubmedqa")]
    if not tasks:
        return []
    head = ["MIRAGE published (full sets, CoT / MedRAG)"] + [TASK_LABELS[t] for t in tasks] + ["average"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in PUBLISHED.items():
        vals = [row[t] for t in tasks]
        lines.append("| " + " | ".join([name] + [f"{v:.1f}" for v in vals] + [f"{sum(vals) / len(vals):.1f}"]) + " |")
    return lines


def subject_table(runs: Sequence[Run]) -> list[str]:
    subs = sorted({row.subject for r in runs for row in r.rows if row.subject})
    if not subs:
        return []
    head = ["subject"] + [r.label for r in runs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    per = [metrics.by_subject(r.rows) for r in runs]
    for s in subs:
        cells = [s] + [f"{_cell(p[s])} (n={p[s].n})" if s in p else "–" for p in per]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def comparison_lines(runs: Sequence[Run]) -> list[str]:
    """Agreement between runs, and oracle accuracy over the backbones of each mode × rag."""
    out = []
    groups: dict[tuple[str, str], dict[str, Sequence[ResultRow]]] = {}
    for r in runs:
        groups.setdefault((r.rows[0].mode, r.rows[0].rag), {})[r.label] = r.rows
    for (mode, rag), g in groups.items():
        if len(g) < 2:
            continue
        acc, n = metrics.oracle_accuracy(g)
        best = max(metrics.by_task(rows)["overall"].accuracy for rows in g.values())
        out.append(f"- Oracle over {len(g)} backbones ({mode}, rag {rag}): {_pct(acc)}% on {n} "
                   f"common questions (best single: {_pct(best)}%): the ceiling of a perfect router.")
    return out


def write_report(paths: Sequence[Path], out: Path, title: str = "medqa evaluation",
                 notes: str = "") -> tuple[Path, Path]:
    """Write report.md, report.html and PNG plots into `out`; returns the two report paths."""
    from medqa.evals import plots

    runs = load_runs(paths)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = _tasks(runs)
    n_per_task = {t: sorted({n for r in runs if (n := sum(1 for x in r.rows if x.task == t))}) for t in tasks}
    figs = plots.make_all(runs, out)
    md = [f"# {title}", ""]
    size = ", ".join(f"{TASK_LABELS.get(t, t)} n={'/'.join(map(str, n))}" for t, n in n_per_task.items())
    md += [f"**Sample size: {size}.** Accuracy in %, with seeded bootstrap 95% CIs "
           "(2,000 resamples, stratified by task); overall = mean of the task accuracies "
           "(MIRAGE's average). Small samples give wide intervals: read the CIs, not the point estimates.", ""]
    for para in notes.strip().split("\n\n") if notes.strip() else []:
        md += [" ".join(para.split("\n")), ""]  # one line per paragraph: the HTML renderer is line-based
    md += main_table(runs) + [""]
    if any(r.oracle_in_corpus for r in runs):
        rate = [x.gold_retrieved for r in runs for x in r.rows if x.gold_retrieved is not None]
        md += ["*PubMedQA\\* with retrieval is **oracle-in-corpus**: the corpus holds each question's own "
               "abstract (the gold context), so it is not comparable with runs that retrieve from "
               f"general corpora. The gold abstract was retrieved for {_pct(sum(rate) / len(rate)) if rate else '–'}% "
               "of those questions.*", ""]
    md += ["ECE: expected calibration error of the top option probability (10 bins; score mode). "
           "s/question: wall time per question including retrieval (model loading excluded), on the "
           "machine and under the load listed under Runs; CPU s/q: CPU seconds of all engine threads "
           "per question (what a busy shared machine inflates least); top letter: the most chosen "
           "letter and its share (a model that always answers one letter scores chance).", ""]
    ref = reference_table(tasks)
    if ref:
        md += ["## MIRAGE reference rows", "", "Published accuracy on the FULL task sets with chain-of-thought "
               "(GPT-4/3.5, Llama-3-70B; MedRAG = RRF-4 over MedCorp, 32 snippets). Different models, "
               "prompts and sample: context, not a like-for-like comparison.", ""] + ref + [""]
    comp = comparison_lines(runs)
    if comp:
        md += ["## Agreement and oracle", ""] + comp + [""]
    md += ["## Plots", ""] + [f"![{name}]({f.name})" for name, f in figs] + [""]
    subj = subject_table(runs)
    if subj:
        md += ["## Per subject", ""] + subj + [""]
    md += ["## Runs", ""] + [f"- `{r.path.name}`: {r.label}, config {r.rows[0].config_hash}; "
                             f"{_sessions(r.config)}" for r in runs]
    md_path = out / "report.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    html_path = out / "report.html"
    html_path.write_text(_to_html(title, md), encoding="utf-8")
    return md_path, html_path


def _sessions(cfg: dict) -> str:
    ss = cfg.get("sessions") or []
    if not ss:
        return "machine not recorded"
    loads = ", ".join(str(x.get("loadavg_1m")) for x in ss)
    return (f"{len(ss)} session(s) from {ss[0]['started']} on {ss[0].get('host')} "
            f"({ss[0].get('cpus')} CPUs, {ss[0].get('machine')}), 1-min load average at start: {loads}")


def _to_html(title: str, md: list[str]) -> str:
    """A self-contained page from our own Markdown subset (headings, tables, images, lists)."""
    import re

    def inline(s: str) -> str:
        s = _html.escape(s).replace("\\*", "&#42;")
        s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
        s = re.sub(r"\*(.+?)\*", r"<i>\1</i>", s)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", s)

    body, table = [], []
    for line in md + [""]:
        if line.startswith("|"):
            if not line.startswith("|---"):
                table.append([c.strip() for c in line.strip("|").split("|")])
            continue
        if table:
            rows = [f"<tr>{''.join(f'<th>{inline(c)}</th>' for c in table[0])}</tr>"]
            rows += [f"<tr>{''.join(f'<td>{inline(c)}</td>' for c in r)}</tr>" for r in table[1:]]
            body.append("<table>" + "".join(rows) + "</table>")
            table = []
        if m := re.match(r"!\[(.*)\]\((.*)\)", line):
            body.append(f'<figure><img src="{_html.escape(m[2])}" alt="{_html.escape(m[1])}"></figure>')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{inline(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("- "):
            body.append(f"<li>{inline(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{inline(line)}</p>")
    css = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
           "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
           "font-size:14px}th{background:#f3f3f3}img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{_html.escape(title)}</title>"
            f"<style>{css}</style></head><body>{''.join(body)}</body></html>\n")
