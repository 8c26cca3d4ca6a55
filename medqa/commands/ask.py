"""`medqa ask "question"`: a streamed, cited answer from the configured backbone."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from medqa.types import Answer


def ask(
    question: str = typer.Argument(..., help="The question, in English or Chinese."),
    engine: Optional[str] = typer.Option(None, help="llamacpp | transformers | vllm"),
    role: Optional[str] = typer.Option(None, help="Role whose backbone answers (general...)."),
    k: Optional[int] = typer.Option(None, help="Passages to retrieve."),
    show_reasoning: bool = typer.Option(False, help="Print a reasoning model's thinking."),
) -> None:
    """Answer a question from the indexed documents, citing them as [n]."""
    from medqa.config import load_settings
    from medqa.pipeline import Assistant
    from medqa.types import Answer, Reasoning, Retrieved, Routed, Token, Triaged

    settings = load_settings()
    models = {"engine": engine, "default_role": role}
    settings.models = settings.models.model_copy(
        update={key: v for key, v in models.items() if v is not None})
    if k is not None:
        settings.retrieval = settings.retrieval.model_copy(update={"k": k})
    assistant = Assistant.from_settings(settings)
    err = typer.get_text_stream("stderr")
    for ev in assistant.stream(question):
        if isinstance(ev, Triaged) and ev.emergency:
            typer.secho(ev.message or "", fg="red", bold=True)
        elif isinstance(ev, Retrieved):
            err.write(f"[retrieved {len(ev.passages)} passages in {ev.seconds:.2f} s]\n")
        elif isinstance(ev, Routed):
            err.write(f"[{ev.route.explanation}]\n")
        elif isinstance(ev, Reasoning) and show_reasoning:
            typer.secho(ev.text, dim=True, nl=False)
        elif isinstance(ev, Token):
            typer.echo(ev.text, nl=False)
        elif isinstance(ev, Answer):
            typer.echo("")
            _footer(ev)
            if ev.partial:
                raise typer.Exit(1)


def _footer(a: Answer) -> None:
    if a.error:
        typer.secho(f"error: {a.error}", fg="red", err=True)
    if a.citations:
        typer.echo("\nSources:")
        for c in a.citations:
            p = c.passage
            where = p.url or p.path or p.doc_id
            how = " (matched by medqa, not cited by the model)" if c.how == "matched" else ""
            typer.echo(f"  [{c.n}] {p.title} ({p.source}) {where}{how}")
    if a.disclaimer:
        typer.secho(a.disclaimer, dim=True)
    t = a.timings
    typer.secho(
        f"[{a.backbone}; first token {t.get('first_token_s', float('nan')):.1f} s, "
        f"total {t.get('total_s', 0.0):.1f} s; request {a.request_id}]",
        dim=True, err=True,
    )


def register(app: typer.Typer) -> None:
    """Add `medqa ask`."""
    app.command("ask")(ask)
