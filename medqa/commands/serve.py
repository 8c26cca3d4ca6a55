"""`medqa serve` (web app + REST), `medqa users add|list`, `medqa apikey create`."""
from __future__ import annotations

from typing import Optional

import typer

users_app = typer.Typer(help="Sign-in accounts for the web app (roles: staff, admin).")
apikey_app = typer.Typer(help="API keys for the REST API (Authorization: Bearer <key>).")


def serve(
    host: Optional[str] = typer.Option(None, help="Interface to bind (default: server.host, 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port (default: server.port, 7860)."),
    ingest_default: bool = typer.Option(
        False, "--ingest-default",
        help="If the default corpus is not indexed, index it in the background while serving."),
) -> None:
    """Serve the web app at / and the REST API at /v1 (OpenAPI docs at /docs)."""
    import uvicorn

    from medqa.auth import ensure_first_admin
    from medqa.config import load_settings
    from medqa.errors import MedQAError
    from medqa.server import create_app
    from medqa.services import Services

    settings = load_settings()
    host, port = host or settings.server.host, port or settings.server.port
    svc = Services(settings)
    password = ensure_first_admin(svc.users, settings.home, settings.tenant)
    if password:
        typer.secho(f"First run: created user 'admin' with password: {password}", fg="yellow")
        typer.echo(f"  (also saved in {settings.home / 'initial-admin-password'}; "
                   "add staff with: medqa users add NAME --role staff)")
    if ingest_default:
        try:
            jobs = svc.ingest_default()
        except MedQAError as e:
            typer.secho(f"Not indexing the default corpus: {e.message}", fg="red", err=True)
            typer.echo(f"  {e.hint}", err=True)
            jobs = []
        if jobs:
            typer.echo("Indexing the default corpus in the background (a first subset, then all); "
                       "progress shows in the app's banner and at /healthz.")
    typer.secho(f"medqa is serving at http://{host}:{port}/  (REST: /v1, docs: /docs)", fg="green")
    uvicorn.run(create_app(settings, svc), host=host, port=port, log_level="warning")


@users_app.command("add")
def users_add(
    name: str,
    role: str = typer.Option("staff", help="staff or admin"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 help="At least 8 characters (prompted when omitted)."),
) -> None:
    """Create a user, or replace that user's password and role."""
    from medqa.auth import UserStore
    from medqa.config import load_settings

    s = load_settings()
    user = UserStore.open(s).add_user(name, password, role, s.tenant)
    typer.echo(f"user {user.name} ({user.role}) saved")


@users_app.command("list")
def users_list() -> None:
    """List the users of this tenant."""
    from medqa.auth import UserStore
    from medqa.config import load_settings

    s = load_settings()
    for u in UserStore.open(s).users(s.tenant):
        typer.echo(f"{u.name}\t{u.role}")


@apikey_app.command("create")
def apikey_create(
    user: str = typer.Option(..., "--user", help="The user the key acts as."),
    label: str = typer.Option("", help="A note to tell keys apart."),
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    from medqa.auth import UserStore
    from medqa.config import load_settings

    s = load_settings()
    typer.echo(UserStore.open(s).create_key(user, label, s.tenant))


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `medqa` CLI."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.add_typer(apikey_app, name="apikey")
