"""The runner: rows keyed by configuration, resume after SIGKILL redoes and loses nothing, and a
killed-then-resumed run equals an uninterrupted one."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medqa.config import load_settings
from medqa.evals.datasets import load_items
from medqa.evals.results import read_rows
from medqa.evals.runner import Answerer, RunConfig, run
from medqa.evals.suite import BackendPool

HERE = Path(__file__).resolve().parent
N_PER_TASK = 6  # 24 questions


def _run(engine, out, mode="score", concurrency=1, limit=N_PER_TASK):
    settings = load_settings()
    cfg = RunConfig(dataset="mirage_subset_1000", backbone="fake-a", engine=engine, mode=mode)
    items = load_items("mirage_subset_1000", limit=limit)
    pool = BackendPool(settings, engine)
    return run(cfg, items, Answerer(cfg, pool), out, concurrency=concurrency, progress=False), pool


def _outcomes(path):
    return [r.outcome() for r in read_rows(path)]


def test_rows_are_complete_and_keyed_by_config(medqa_home, fake_engine, tmp_path):
    stats, _ = _run(fake_engine, tmp_path / "a")
    assert stats.done == stats.total == 4 * N_PER_TASK and stats.skipped == 0
    r = stats.rows[0]
    assert r.config_hash in stats.path.name and r.mode == "score" and set(r.probs) == {"A", "B", "C", "D"}
    assert abs(sum(r.probs.values()) - 1) < 1e-3 and r.choice == max(r.probs, key=r.probs.get)
    assert json.loads(stats.path.with_suffix(".config.json").read_text())["config_hash"] == r.config_hash
    # A second call finds everything done and asks the backend nothing.
    again, pool = _run(fake_engine, tmp_path / "a")
    assert again.done == 0 and again.skipped == again.total and pool("fake-a").calls == 0
    assert [x.outcome() for x in again.rows] == [x.outcome() for x in stats.rows]


def test_concurrent_equals_sequential_and_cot_parses(medqa_home, fake_engine, tmp_path):
    seq, _ = _run(fake_engine, tmp_path / "s", mode="cot")
    par, _ = _run(fake_engine, tmp_path / "p", mode="cot", concurrency=4)
    assert _outcomes(seq.path) == _outcomes(par.path)  # same rows, same file order
    assert all(r.choice in r.text.upper() for r in seq.rows)  # "(b)" parsed to "B"
    assert all(r.choice is not None and r.completion_tokens == 8 for r in seq.rows)


def test_torn_last_line_is_repaired_and_redone(medqa_home, fake_engine, tmp_path):
    full, _ = _run(fake_engine, tmp_path / "full")
    out = tmp_path / "torn"
    out.mkdir()
    lines = full.path.read_text().splitlines(keepends=True)
    # As if killed mid-write after 10 rows: the 11th is half there, without its newline.
    (out / full.path.name).write_text("".join(lines[:10]) + lines[10][:40])
    resumed, _ = _run(fake_engine, out)
    assert resumed.skipped == 10 and resumed.done == len(lines) - 10
    assert _outcomes(out / full.path.name) == _outcomes(full.path)


def test_sigkill_mid_run_then_resume_equals_uninterrupted_run(medqa_home, fake_engine, tmp_path):
    reference, _ = _run(fake_engine, tmp_path / "ref")
    out = tmp_path / "killed"
    cmd = [sys.executable, str(HERE / "fake_cli.py"), "eval", "qa", "--set", "mirage_subset_1000",
           "--limit", str(N_PER_TASK), "--backbones", "fake-a", "--engine", fake_engine,
           "--out", str(out), "--no-progress"]
    env = {**os.environ, "EVALFAKE_DELAY": "0.2"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    run_file = out / reference.path.name
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if run_file.exists() and run_file.read_text().count("\n") >= 5:
            break
        if proc.poll() is not None:
            pytest.fail(f"runner exited early: {proc.stdout.read().decode()}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = run_file.read_bytes()
    n_before = before.count(b"\n")
    assert 5 <= n_before < reference.total, "the kill must land mid-run"
    env["EVALFAKE_DELAY"] = "0"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{reference.total - n_before} new, {n_before} resumed" in done.stdout
    after = run_file.read_bytes()
    assert after.startswith(before[: before.rfind(b"\n") + 1])  # nothing redone or rewritten
    assert _outcomes(run_file) == _outcomes(reference.path)  # nothing lost, nothing different


def test_a_full_disk_stops_the_run_and_the_rerun_completes_it(medqa_home, fake_engine, small_disk, fill, tmp_path):
    """Run files on a real tmpfs filled to a few pages: the run stops with what to do, the
    rows already written stay, and the same command afterwards equals an uninterrupted run."""
    from medqa.errors import StorageFull

    reference, _ = _run(fake_engine, tmp_path / "ref")
    out = small_disk / "runs"
    filler = fill(small_disk, leave=8192)
    with pytest.raises(StorageFull, match="run the same command again"):
        _run(fake_engine, out)
    run_file = out / reference.path.name
    kept = len(read_rows(run_file))
    assert 0 < kept < reference.total, kept  # stopped mid-run, with its rows
    filler.unlink()
    again, _ = _run(fake_engine, out)
    assert _outcomes(again.path) == _outcomes(reference.path)
