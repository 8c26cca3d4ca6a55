"""The `medqa` command. Each area registers its own commands; this file only wires them."""
from __future__ import annotations

import importlib
import os
import sys

import typer

from medqa.errors import MedQAError

app = typer.Typer(
    name="medqa",
    help="medqa: answers hospital staff's medical questions from the hospital's own documents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Each module has `register(app)`; commands import their heavy dependencies lazily.
COMMAND_MODULES = (
    "medqa.commands.data",
    "medqa.retrieval.commands",
    "medqa.models.commands",
    "medqa.evals.commands",
    "medqa.routing.commands",
    "medqa.safety.commands",
    "medqa.commands.ask",
    "medqa.commands.serve",
)

for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    """Entry point: user-facing errors become one clean message and exit code 1."""
    try:
        app()
    except MedQAError as e:
        if os.environ.get("MEDQA_DEBUG"):
            raise
        typer.secho(f"error: {e.message}", fg="red", err=True)
        if e.hint:
            typer.echo(f"  {e.hint}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
