"""The shared `medqa eval` group: each area adds its own subcommand (retrieval, qa, ...)."""
from __future__ import annotations

import typer

eval_app = typer.Typer(help="Evaluations: retrieval quality, answer accuracy.",
                       no_args_is_help=True)


def ensure_eval_group(app: typer.Typer) -> typer.Typer:
    """Add `eval` to the CLI once, whichever area registers first; returns the group."""
    if not any(g.typer_instance is eval_app for g in app.registered_groups):
        app.add_typer(eval_app, name="eval")
    return eval_app


eval_group = ensure_eval_group  # the name the evals area imports
