"""The server supervisor on a real, cheap HTTP server: health, crash restarts, clean stops."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from medqa.errors import BackendUnavailable
from medqa.models.vllm_server import Server, Supervisor, vllm_argv



def _http_server(tmp_path, port: int, name: str = "fake"):
    """`python -m http.server` with a file named `health`: GET /health answers 200.

    Like vLLM's engine workers, a child (`sleep`) shares the server's process group.
    """
    root = tmp_path / "www"
    root.mkdir(exist_ok=True)
    (root / "health").write_text("ok")
    argv = ["/bin/sh", "-c", f"sleep 300 & exec {sys.executable} -m http.server {port} "
                             f"--bind 127.0.0.1 --directory {root}"]
    return Server(name, argv, port, tmp_path / "logs" / f"{name}.log")


def _group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` still runs (zombies awaiting a reaper do not)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            return True
    return False


@pytest.mark.timeout(120)
def test_crashed_server_is_restarted_then_given_up_on(tmp_path, free_port):
    s = _http_server(tmp_path, free_port())
    logs: list[str] = []
    sup = Supervisor([s], max_restarts=1, health_timeout_s=60, log=logs.append)
    try:
        sup.start()
        assert s.healthy() and s.base_url == f"http://127.0.0.1:{s.port}/v1"
        first = s.proc.pid
        os.kill(first, signal.SIGKILL)
        s.proc.wait()
        assert _group_alive(first)  # the orphaned child lives on...
        assert sup.check() == []  # restarted
        assert s.healthy() and s.proc.pid != first and s.restarts == 1
        assert not _group_alive(first)  # ...until the restart reaps the dead server's group
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait()
        assert sup.check() == [s]  # bounded: the second crash is not restarted
        assert any("restart 1/1" in line for line in logs)
    finally:
        sup.stop()
    assert not s.alive()


@pytest.mark.timeout(120)
def test_stop_terminates_the_whole_process_group(tmp_path, free_port):
    s = _http_server(tmp_path, free_port())
    s.start()
    s.wait_healthy(60)
    pgid = os.getpgid(s.proc.pid)
    s.stop(grace_s=10)
    assert s.proc.returncode is not None and not _group_alive(pgid)


@pytest.mark.timeout(60)
def test_a_server_that_dies_at_start_reports_its_log(tmp_path, free_port):
    s = Server("broken", [sys.executable, "-c", "import sys; print('boom: no model'); sys.exit(3)"],
               free_port(), tmp_path / "broken.log")
    s.start()
    with pytest.raises(BackendUnavailable) as e:
        s.wait_healthy(30)
    assert "boom: no model" in e.value.message and str(s.log_path) in e.value.hint


def test_vllm_command_line_uses_the_module_entry_point(tmp_path):
    argv = vllm_argv(tmp_path / "m", "smollm2-135m-instruct", 8100, 0.15, 4096,
                     python=tmp_path / "py")
    assert argv[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert argv[argv.index("--served-model-name") + 1] == "smollm2-135m-instruct"
    assert argv[argv.index("--gpu-memory-utilization") + 1] == "0.15"
    assert argv[argv.index("--max-model-len") + 1] == "4096"
