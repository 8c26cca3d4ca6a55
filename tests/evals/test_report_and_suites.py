"""Reports (Markdown, HTML, plots) from run files, and the published suite files are valid."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from medqa.config import load_settings
from medqa.evals.suite import Suite, execute

ROOT = Path(__file__).resolve().parents[2]


def _suite_runs(tmp_path, fake_engine, **kw):
    s = Suite(set="mirage_subset_1000", limit=5, backbones=("fake-a", "fake-b"), engine=fake_engine,
              out=str(tmp_path / "runs"), name="t", **kw)
    return execute(s, load_settings(), progress=False, echo=lambda _: None)


def test_eval_report_cli_writes_markdown_html_and_plots(medqa_home, fake_engine, tmp_path):
    stats = _suite_runs(tmp_path, fake_engine, modes=("score", "cot"))
    assert len(stats) == 4 and all(len(s.rows) == 20 for s in stats)
    from medqa.cli import app

    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["eval", "report", str(tmp_path / "runs"), "--out", str(out), "--title", "T"])
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text()
    assert "Sample size: MMLU-Med n=5, MedQA-US n=5, MedMCQA n=5, PubMedQA* n=5" in md
    assert "fake-a · score · rag off" in md and "fake-b · cot · rag off" in md
    assert "GPT-3.5, chain-of-thought | 72.9 | 65.0 | 55.2 | 36.0" in md  # the reference rows
    assert "Oracle over 2 backbones (score, rag off)" in md
    html = (out / "report.html").read_text()
    assert "<table>" in html and 'src="frontier.png"' in html
    for png in ("accuracy_per_task.png", "frontier.png", "agreement.png"):
        assert (out / png).stat().st_size > 5000


def test_overall_in_report_matches_rows(medqa_home, fake_engine, tmp_path):
    from medqa.evals import metrics
    from medqa.evals.report import load_runs, main_table

    _suite_runs(tmp_path, fake_engine)
    runs = load_runs([tmp_path / "runs"])
    acc = metrics.by_task(runs[0].rows)["overall"].accuracy
    line = next(ln for ln in main_table(runs) if runs[0].label in ln)
    assert f"**{100 * acc:.1f} [" in line


@pytest.mark.parametrize("path", sorted((ROOT / "evals").glob("*.yaml")), ids=lambda p: p.name)
def test_published_suites_are_valid(path, medqa_home):
    s = Suite.from_yaml(path)
    cfgs = s.configs(load_settings(), corpora=("medquad", "pubmedqa"))
    assert cfgs and all(c.dataset == s.set for c in cfgs)
    assert all(r in ("off", "on", "gated") for r in s.rag)  # YAML's bare `off` is not False


def test_unknown_suite_key_is_refused(tmp_path):
    from medqa.errors import ConfigError

    p = tmp_path / "s.yaml"
    p.write_text("set: mirage\nbackbone: x\n")
    with pytest.raises(ConfigError, match="backbone"):
        Suite.from_yaml(p)


def test_a_partial_rerun_keeps_every_run_of_the_folder_in_the_report(medqa_home, fake_engine, tmp_path):
    """`--backbones b` after a run of `a`: the suite's report still shows both, not just this command's."""
    from medqa.cli import app

    common = ["eval", "qa", "--set", "mirage_subset_1000", "--limit", "3", "--engine", fake_engine, "--no-progress",
              "--out", str(tmp_path / "runs"), "--report", str(tmp_path / "rep")]
    for b in ("fake-a", "fake-b"):
        res = CliRunner().invoke(app, [*common, "--backbones", b])
        assert res.exit_code == 0, res.output
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "fake-a · score · rag off" in md and "fake-b · score · rag off" in md
