"""`medqa ingest`, `medqa search`, `medqa sources` and `medqa eval retrieval`."""
from __future__ import annotations

from typing import Optional

import typer


def _settings(tenant: str | None):  # noqa: ANN202 - Settings imported lazily
    from medqa.config import load_settings

    return load_settings(tenant=tenant)


def ingest_cmd(
    source: str = typer.Argument(..., help="A corpus name (medquad, pubmedqa) or a file/folder."),
    sync: bool = typer.Option(False, "--sync", help="Also remove chunks of files that are gone."),
    limit: Optional[int] = typer.Option(None, help="Only the first N documents (a quick try)."),
    tenant: Optional[str] = typer.Option(None, help="Tenant whose index to write."),
) -> None:
    """Index documents (idempotent: unchanged documents are skipped)."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from medqa.retrieval.ingest import ingest

    console = Console(stderr=True)
    settings = _settings(tenant)
    columns = (TextColumn("[bold]embedding"), BarColumn(), MofNCompleteColumn(),
               TextColumn("chunks"),
               TextColumn("[cyan]{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("ingest", total=None, rate="")

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:,.1f} chunks/s" if speed else "")

        report = ingest(source, settings, sync=sync, progress=progress, limit=limit)
    console.print(f"[green]added {report.added:,}[/green] chunks, {report.unchanged:,} unchanged, "
                  f"{report.removed:,} removed in {report.seconds:.1f}s "
                  f"(tenant {settings.tenant}).")
    for name, reason in report.failed:
        console.print(f"[yellow]skipped[/yellow] {name}: {reason}")
    if report.failed:
        console.print(f"{len(report.failed)} file(s) or line(s) not ingested; the rest were.")


def search_cmd(
    query: str = typer.Argument(..., help="Question or keywords."),
    k: int = typer.Option(5, "-k", "--k", help="How many passages."),
    mode: str = typer.Option("hybrid", help="hybrid | bm25 | dense"),
    tenant: Optional[str] = typer.Option(None, help="Tenant whose index to search."),
) -> None:
    """Search the index and print the best passages with their citations."""
    from rich.console import Console
    from rich.table import Table

    from medqa.errors import UnknownName
    from medqa.retrieval.hybrid import open_retriever, validate_query

    settings = _settings(tenant)
    validate_query(query, settings)  # fail fast, before loading models
    r = open_retriever(settings)
    retrievers = {"hybrid": r, "bm25": r.bm25, "dense": r.dense}
    if mode not in retrievers:
        raise UnknownName("search mode", mode, list(retrievers))
    table = Table("#", "score", "title / heading", "source", "text", show_lines=True)
    for n, p in enumerate(retrievers[mode].search(query, k=k), 1):
        where = p.url or p.path or ""
        head = f"{p.title}\n[dim]{p.heading or ''}{f' p.{p.page}' if p.page else ''}[/dim]"
        text = p.text if len(p.text) < 300 else p.text[:300] + "…"
        table.add_row(str(n), f"{p.score:.4f}", head, f"{p.source}\n[dim]{where}[/dim]", text)
    Console().print(table)


def sources_cmd(
    remove: Optional[str] = typer.Option(None, help="Remove this source (name or path)."),
    tenant: Optional[str] = typer.Option(None, help="Tenant."),
) -> None:
    """List ingested sources, or remove one."""
    from medqa.retrieval.hybrid import list_sources, remove_source

    settings = _settings(tenant)
    if remove:
        typer.echo(f"removed {remove_source(settings, remove):,} chunks of {remove}")
        return
    for s in list_sources(settings):
        typer.echo(f"{s['source']}\t{s['documents']:,} documents\t{s['chunks']:,} chunks")


def eval_retrieval_cmd(
    set_name: str = typer.Option("medquad_retrieval_dev", "--set", help="Eval set name."),
    split: str = typer.Option("all", help="all | tune | held (fixed halves by question id)."),
    limit: Optional[int] = typer.Option(None, help="Only the first N questions."),
    tenant: Optional[str] = typer.Option(None, help="Tenant whose index to evaluate."),
) -> None:
    """Recall@1/5/10 and MRR@10 per document for bm25, dense and hybrid side by side."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from medqa.retrieval.evaluate import evaluate

    settings = _settings(tenant)
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("evaluating", total=None)
        scores = evaluate(settings, set_name, split=split, limit=limit,
                          progress=lambda d, t: bar.update(task, completed=d, total=t))
    n = next(iter(scores.values())).n
    table = Table("retriever", "R@1", "R@5", "R@10", "MRR@10", "ms/query",
                  title=f"{set_name} ({split}, {n} questions, per document)")
    for name, s in scores.items():
        table.add_row(name, f"{s.recall_1:.3f}", f"{s.recall_5:.3f}", f"{s.recall_10:.3f}",
                      f"{s.mrr_10:.3f}", f"{s.ms_per_query:.1f}")
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `medqa` CLI."""
    from medqa.commands.eval_group import ensure_eval_group

    app.command("ingest")(ingest_cmd)
    app.command("search")(search_cmd)
    app.command("sources")(sources_cmd)
    ensure_eval_group(app).command("retrieval")(eval_retrieval_cmd)
