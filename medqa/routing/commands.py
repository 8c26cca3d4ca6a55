"""`medqa router ...`: explain a route, train the learned router, report its curve, build the table."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

router_app = typer.Typer(help="Routing: which backbone answers, with or without retrieval.", no_args_is_help=True)


def _embedder(name: str) -> str | None:
    return None if name.lower() in {"", "none", "off"} else name


def _fit(data, qs, embedder: str, c):
    """`auto`: signals alone or with MiniLM, whichever cross-validates better; else as named."""
    from medqa.routing.learned import fit, fit_auto

    if embedder.lower() == "auto":
        return fit_auto(data, qs, embedder="minilm", C=c)
    return fit(data, qs, embedder=_embedder(embedder), C=c)


def _exclude(outcomes, set_name: Optional[str], settings):
    """Drop questions that belong to evaluation set `set_name` (e.g. the test subset)."""
    if not set_name:
        return outcomes
    from medqa.evals.datasets import load_items

    held = {it.id for it in load_items(set_name, settings=settings)}
    return outcomes.restrict(q for q in outcomes.cells if q not in held)


def _only(outcomes, set_name: Optional[str], settings):
    if not set_name:
        return outcomes
    from medqa.evals.datasets import load_items

    keep = {it.id for it in load_items(set_name, settings=settings)}
    return outcomes.restrict(q for q in outcomes.cells if q in keep)


@router_app.command("explain")
def explain(
    question: str = typer.Argument(..., help="The question to route."),
    router: str = typer.Option("signal", help="signal | learned | learned:<dir>"),
    rules: Optional[Path] = typer.Option(None, help="A routing rules YAML overriding the defaults."),
) -> None:
    """Show the route a question would take and why (no model is called)."""
    from medqa.config import load_settings
    from medqa.routing.registry import get_router
    from medqa.routing.signal_router import SignalRouter
    from medqa.types import Question

    settings = load_settings()
    r = SignalRouter.from_settings(settings, rules) if rules else get_router(router, settings)
    route = r.route(Question(text=question))
    typer.echo(route.explanation)
    typer.echo("scores: " + ", ".join(f"{k}={v:.2f}" for k, v in route.scores.items()))


@router_app.command("train")
def train(
    results: list[Path] = typer.Option(..., "--results", help="Run files (*.jsonl) or folders (repeatable)."),
    out: Optional[Path] = typer.Option(None, help="Folder for router.npz + router.json (default MEDQA_HOME/router/learned)."),
    embedder: str = typer.Option("auto", help="Question features: 'auto' (signals alone or with MiniLM, whichever "
                                 "cross-validates better), 'minilm', or 'none' (signals only)."),
    exclude_set: Optional[str] = typer.Option(None, help="Leave out questions of this set, e.g. mirage_subset_1000."),
    c: Optional[float] = typer.Option(None, "--C", help="Inverse L2 strength of the logistic regressions "
                                      "(default: chosen per arm by 5-fold cross-validation)."),
) -> None:
    """Fit the learned router on evaluation results and calibrate lambda for three cost targets."""
    from medqa.config import load_settings
    from medqa.routing import outcomes as oc
    from medqa.routing.registry import default_learned_dir

    settings = load_settings()
    data = _exclude(oc.load(results), exclude_set, settings)
    qs = oc.questions(data.cells, data.dataset, settings)
    router = _fit(data, qs, embedder, c)
    folder = router.save(out or default_learned_dir(settings))
    typer.echo(f"trained on {router.meta['n_questions']} questions, {len(router.arms)} arms "
               f"(data sha256 {router.meta['data_hash'][:12]}) -> {folder}")
    for a, acc, cost in zip(router.arms, router.accuracy, router.cost):
        typer.echo(f"  {a.label}: training accuracy {acc:.3f}, mean cost {cost:.2f}")
    typer.echo("lambdas: " + ", ".join(f"{k}={v:.4g}" for k, v in router.lambdas.items()))


@router_app.command("report")
def report(
    router: Optional[Path] = typer.Option(None, help="Trained router folder (default MEDQA_HOME/router/learned)."),
    results: list[Path] = typer.Option(..., "--results", help="Run files to evaluate it on (repeatable)."),
    only_set: Optional[str] = typer.Option(None, help="Evaluate only questions of this set."),
    png: Path = typer.Option(Path("evals/reports/router/cost_quality.png"), help="Where to write the plot."),
) -> None:
    """Print the learned router's cost-quality curve on results and write it as a PNG."""
    from medqa.config import load_settings
    from medqa.routing import outcomes as oc
    from medqa.routing import table as tb
    from medqa.routing.learned import LearnedRouter
    from medqa.routing.registry import default_learned_dir

    settings = load_settings()
    r = LearnedRouter.load(router or default_learned_dir(settings))
    data = _only(oc.load(results), only_set, settings)
    qs = oc.questions(data.cells, data.dataset, settings)
    sweep = tb.curve(r, data, qs)
    typer.echo(f"{'lambda':>8} {'cost/q':>8} {'accuracy %':>10}")
    for pt in sweep:
        typer.echo(f"{pt['lambda']:8.3f} {pt['cost']:8.2f} {100 * pt['accuracy']:10.1f}")
    typer.echo("calibrated: " + ", ".join(f"{k}: lambda {v:.4g}" for k, v in r.lambdas.items()))
    typer.echo(f"plot: {tb.plot([], sweep, png)}")


@router_app.command("table")
def table(
    train_results: list[Path] = typer.Option(..., "--train-results", help="Run files to train on (repeatable)."),
    test_results: list[Path] = typer.Option(..., "--test-results", help="Run files to report on (repeatable)."),
    out: Path = typer.Option(Path("evals/reports/router"), help="Folder for table.md, table.json, cost_quality.png."),
    embedder: str = typer.Option("auto", help="Learned router's question features: 'auto' (signals alone or with "
                                 "MiniLM, whichever cross-validates better), 'minilm', or 'none'."),
    exclude_set: Optional[str] = typer.Option("mirage_subset_1000", help="Train only on questions outside this set."),
    test_set: Optional[str] = typer.Option("mirage_subset_1000", help="Report only on questions of this set."),
    min_margin: float = typer.Option(0.2, help="Cascade: escalate below this option-probability margin."),
    c: Optional[float] = typer.Option(None, "--C", help="Inverse L2 strength of the learned router's regressions "
                                      "(default: chosen per arm by 5-fold cross-validation; smaller: closer "
                                      "to each arm's mean accuracy)."),
) -> None:
    """The routing table: every backbone, random, oracle, signal, learned x3, cascade, vote."""
    from medqa.config import load_settings
    from medqa.routing import outcomes as oc
    from medqa.routing import table as tb

    settings = load_settings()
    train_o = _exclude(oc.load(train_results), exclude_set, settings)
    test_o = _only(oc.load(test_results), test_set, settings)
    overlap = set(train_o.cells) & set(test_o.cells)
    if overlap:
        raise typer.BadParameter(f"{len(overlap)} questions are in both training and test results "
                                 f"(e.g. {sorted(overlap)[0]}); use --exclude-set / --test-set")
    qs = oc.questions(set(train_o.cells) | set(test_o.cells), {**train_o.dataset, **test_o.dataset}, settings)
    router = _fit(train_o, qs, embedder, c)
    rows, notes = tb.build(train_o, test_o, router, qs, min_margin=min_margin)
    summary = tb.summarize(rows, test_o)
    paths = tb.write(out, summary, notes, tb.curve(router, test_o, qs))
    typer.echo(tb.markdown(summary, notes))
    typer.echo("wrote " + ", ".join(map(str, paths)))


def register(app: typer.Typer) -> None:
    """Add `medqa router ...` to the CLI."""
    app.add_typer(router_app, name="router")
