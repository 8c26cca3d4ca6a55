"""`medqa eval qa` (batch evaluation) and `medqa eval report` (Markdown + HTML with plots)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _split(value: Optional[str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def qa(
    suite: Optional[Path] = typer.Option(None, help="A suite YAML (evals/*.yaml); flags override its keys."),
    set_: Optional[str] = typer.Option(None, "--set", help="mirage | mirage_subset_1000 | mirage_train (mirage minus the subset, seeded order) | cmmlu_medical"),
    task: Optional[list[str]] = typer.Option(None, help="Only these tasks (repeatable): mmlu, medqa, medmcqa, pubmedqa."),
    limit: Optional[int] = typer.Option(None, help="First N questions of each task (of each subject for CMMLU)."),
    backbones: Optional[str] = typer.Option(None, help="Comma-separated backbone names."),
    router: Optional[str] = typer.Option(None, help="Let this router pick the backbone per question."),
    rag: Optional[str] = typer.Option(None, help="off | on | gated, or a comma list (off,on)."),
    mode: Optional[str] = typer.Option(None, help="score (option log-probs) | cot (generate + parse), or both."),
    k: Optional[int] = typer.Option(None, help="Passages retrieved per question when RAG is on."),
    engine: Optional[str] = typer.Option(None, help="Engine for every backbone (default: settings.models.engine)."),
    concurrency: Optional[int] = typer.Option(None, help="Questions in flight at once (servers batch them)."),
    out: Optional[Path] = typer.Option(None, help="Run folder (default: <MEDQA_HOME>/evals/runs/<suite name>)."),
    report: Optional[Path] = typer.Option(None, help="Write a report to this folder when done."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
) -> None:
    """Evaluate backbones (or a router) on a medical QA set; resumable, one JSONL per configuration."""
    from medqa.config import load_settings
    from medqa.evals.suite import Suite, execute, with_overrides

    settings = load_settings()
    base = Suite.from_yaml(suite) if suite else Suite()
    s = with_overrides(
        base, set=set_, tasks=tuple(task) if task else None, limit=limit, backbones=_split(backbones),
        router=router, rag=_split(rag), modes=_split(mode), k=k, engine=engine, concurrency=concurrency,
        out=str(out) if out else None, report=str(report) if report else None,
    )
    stats = execute(s, settings, progress=not no_progress, echo=typer.echo)
    if s.report:
        from medqa.evals.report import write_report

        # Every run in the suite's folder(s), not only this command's: a partial rerun (--backbones,
        # --rag) must not shrink the published table to its own rows. Older prompt versions live in
        # the folders' prompt_v1/ and are not read.
        folders = sorted({Path(st.path).parent for st in stats if st.path})
        runs = [f for d in folders for f in sorted(d.glob("*.jsonl"))]
        paths = write_report(runs, Path(s.report), title=s.title or s.name, notes=s.report_notes())
        typer.echo(f"report: {paths[0]} and {paths[1]}")


def report(
    runs: list[Path] = typer.Argument(..., help="Run files (*.jsonl) or folders holding them."),
    out: Path = typer.Option(Path("evals/reports/latest"), help="Folder for report.md, report.html and plots."),
    title: str = typer.Option("medqa evaluation", help="Report title."),
    notes: Optional[Path] = typer.Option(None, help="A Markdown file whose text goes under the title."),
) -> None:
    """Write Markdown and HTML reports with plots, beside MIRAGE's published rows."""
    from medqa.evals.report import write_report

    text = notes.read_text(encoding="utf-8") if notes else ""
    md, html = write_report(runs, out, title=title, notes=text)
    typer.echo(f"{md}\n{html}")


def compare(
    run_a: Path = typer.Argument(..., help="A run file (*.jsonl): the baseline."),
    run_b: Path = typer.Argument(..., help="A run file of the same set: the one compared with it."),
) -> None:
    """Paired comparison of two runs on their common questions: B - A per task and overall, with CIs."""
    from medqa.evals.compare import compare as paired
    from medqa.evals.compare import markdown
    from medqa.evals.results import read_rows

    rows = paired(read_rows(run_a), read_rows(run_b))
    typer.echo(markdown(run_a.name, run_b.name, rows))


def register(app: typer.Typer) -> None:
    """Add `eval qa` and `eval report` to the shared `eval` group."""
    from medqa.commands.eval_group import eval_group

    group = eval_group(app)
    group.command("qa")(qa)
    group.command("report")(report)
    group.command("compare")(compare)
