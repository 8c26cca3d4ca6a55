"""One real medqa server for the app tests: a tiny real index, SmolLM2 on llama.cpp, uvicorn
on loopback in a thread, users alice/bob (staff) and root (admin) with API keys."""
from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

BACKBONE = "smollm2-135m-instruct"
PASSWORDS = {"alice": "alice-pass-1", "bob": "bob-pass-22", "root": "root-pass-333"}

DOCS = {
    "metformin.md": "# Metformin\n\n## Dosing\n\nMetformin is started at 500 mg once daily with "
                    "the evening meal and increased slowly to limit stomach upset.\n\n## Kidney "
                    "function\n\nStop metformin when eGFR falls below 30 mL/min.\n",
    "asthma.md": "# Asthma action plan\n\n## Green zone\n\nUse the controller inhaler every day."
                 "\n\n## Red zone\n\nIf the reliever inhaler does not help, call emergency "
                 "services.\n",
    "hand-hygiene.md": "# Hand hygiene\n\n## When\n\nClean hands before and after touching a "
                       "patient, and after removing gloves.\n",
}


@dataclass
class Live:
    """A running server and what the tests need to reach it."""

    url: str
    settings: Any
    services: Any
    keys: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The real app (REST + Gradio UI) served by uvicorn on 127.0.0.1."""
    import uvicorn

    from medqa.config import load_settings
    from medqa.retrieval.ingest import ingest
    from medqa.server import create_app
    from medqa.services import Services

    # `make models` assembles the packaged GGUFs under the user's MEDQA home
    models = Path(os.environ.get("MEDQA_MODELS_HOME", Path.home() / ".medqa")).expanduser() / "models"
    if not (models / f"{BACKBONE}.gguf").exists():
        pytest.fail(f"{models}/{BACKBONE}.gguf is missing: run `make models` first.")
    home = tmp_path_factory.mktemp("medqa_app_home")
    (home / "models").symlink_to(models, target_is_directory=True)
    settings = load_settings(
        home=home, data_dir=Path(os.environ["MEDQA_DATA_DIR"]),
        models={"roles": {r: BACKBONE for r in ("general", "efficient", "reasoning")},
                "engine": "llamacpp", "n_ctx": 2048},
        retrieval={"k": 3}, server={"max_upload_mb": 1},
    )
    docs = home / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    ingest(docs, settings)
    svc = Services(settings)
    keys = {}
    for name, pw in PASSWORDS.items():
        svc.users.add_user(name, pw, "admin" if name == "root" else "staff")
        keys[name] = svc.users.create_key(name)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, svc), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)
    yield Live(f"http://127.0.0.1:{port}", settings, svc, keys)
    server.should_exit = True
    thread.join(timeout=30)
