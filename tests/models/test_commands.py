"""`medqa models ...` through the real CLI."""
from __future__ import annotations

from typer.testing import CliRunner

from medqa.cli import app

runner = CliRunner()


def _run(*args: str, home=None):
    env = {"COLUMNS": "250"}
    if home is not None:
        env.update(MEDQA_HOME=str(home), MEDQA_MODELS_PATH=str(home / "models"))
    return runner.invoke(app, ["models", *args], env=env)


def test_list_shows_every_backbone_with_its_weights_status(medqa_home):
    r = _run("list", home=medqa_home)
    assert r.exit_code == 0, r.output
    assert "BailingMoeForCausalLM" in r.output and "deepseek-ai/DeepSeek-R1" in r.output
    assert "medqa models pull smollm2-135m-instruct" in r.output  # not pulled in a fresh home


def test_plan_prints_the_table_for_a_described_machine():
    r = _run("plan", "--machine", "cpu-2core")
    assert r.exit_code == 0, r.output
    assert "cpu-2core: 2 CPU cores, 24 GB RAM" in r.output
    rows = [line for line in r.output.splitlines() if "│" in line]
    assert len(rows) >= 17 and sum("llamacpp" in line for line in rows) >= 4


def test_plan_of_named_backbones_only(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("machines:\n  - {name: gpu, accelerator: cuda, device_name: NVIDIA L4, "
                 "device_count: 1, device_memory_gb: 24}\n")
    r = _run("plan", "--machine", str(f), "qwen3-8b")
    assert r.exit_code == 0, r.output
    assert "qwen3-8b" in r.output and "ling-lite" not in r.output and "vllm-cuda" in r.output


def test_verify_reports_missing_weights_with_the_pull_command(medqa_home):
    r = _run("verify", "gemma-3-270m", home=medqa_home)
    assert r.exit_code == 1
    assert "medqa models pull gemma-3-270m" in r.output


def test_pull_needs_a_name_or_packaged():
    assert _run("pull").exit_code != 0


def test_serve_dry_run_prints_the_vllm_command(medqa_home):
    r = _run("serve", "smollm2-135m-instruct", "--dry-run", "--port", "8123", home=medqa_home)
    assert r.exit_code == 0, r.output
    assert "-m vllm.entrypoints.openai.api_server" in r.output
    assert "--served-model-name smollm2-135m-instruct" in r.output and "--port 8123" in r.output


def test_serve_refuses_a_model_vllm_cannot_read_here(medqa_home):
    r = _run("serve", "gemma-3-270m", "--dry-run", home=medqa_home)
    assert r.exit_code != 0 and "llamacpp" in str(r.exception.hint)
