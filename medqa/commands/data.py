"""`medqa data check`: is every manifest entry present and intact?"""
from __future__ import annotations

import typer

data_app = typer.Typer(help="Corpora and evaluation sets named in data/manifest.toml.")


@data_app.command("check")
def check() -> None:
    """List each manifest entry, whether it is present, and whether its sha256 verifies."""
    from rich.console import Console
    from rich.table import Table

    from medqa import data
    from medqa.errors import MedQAError

    table = Table("name", "kind", "status", "license")
    bad = 0
    for e in data.entries().values():
        try:
            data.resolve(e.name)
            status = "[green]ok[/green]"
        except MedQAError as err:
            bad += 1
            status = f"[red]{err.message}[/red]"
        table.add_row(e.name, e.kind, status, e.license)
    Console().print(table)
    raise typer.Exit(1 if bad else 0)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
