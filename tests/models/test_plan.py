"""Serving plans on described machines: 8xH100, 2xMI300X, 8x910B, a 2-core CPU, an M2, a mix."""
from __future__ import annotations

import dataclasses

import pytest

from medqa.models.hardware import Fleet, Machine, presets
from medqa.models.manifest import backbone, backbones
from medqa.models.plan import plan, plan_one, plan_table, serve_args

PACKAGED = ("qwen2.5-coder-1.5b-instruct-q4km", "qwen2.5-coder-0.5b-instruct",
            "smollm2-135m-instruct", "gemma-3-270m")


def _plan(preset: str) -> dict:
    return {p.backbone: p for p in plan(backbones().values(), presets()[preset])}


def test_8xh100_serves_everything_but_deepseek_full_precision_on_one_node():
    p = _plan("8xh100")
    assert all(x.fits and x.engine == "vllm-cuda" for x in p.values())
    r1 = p["deepseek-r1"]  # 671 GB of FP8 do not fit 640 GB: one node needs 4-bit weights
    assert (r1.tp, r1.pp, r1.nodes, r1.dtype) == (8, 1, 1, "awq-int4")
    assert "AWQ" in r1.quantization
    assert (p["qwen3-235b-a22b"].tp, p["qwen3-235b-a22b"].dtype) == (8, "bfloat16")
    assert p["qwen2.5-72b-instruct"].tp == 4 and p["qwen2.5-72b-instruct"].replicas == 2
    small = p["deepseek-r1-distill-qwen-7b"]
    assert (small.tp, small.replicas, small.context) == (1, 8, 131072)
    assert p["ling-plus"].dtype == "fp8"  # H100 runs FP8: one node instead of two
    for x in p.values():
        assert 0 < x.memory_fraction <= 0.9 and x.context >= 4096


def test_two_h100_nodes_serve_deepseek_r1_fp8_over_ray():
    r1 = _plan("2x8xh100")["deepseek-r1"]
    assert (r1.dtype, r1.quantization, r1.tp, r1.pp, r1.nodes) == ("fp8", None, 8, 2, 2)
    assert r1.multi_node and r1.context == 131072
    args = serve_args(r1, backbone("deepseek-r1"))
    assert args[:3] == ["vllm", "serve", "deepseek-ai/DeepSeek-R1"]
    for flag, value in (("--tensor-parallel-size", "8"), ("--pipeline-parallel-size", "2"),
                        ("--distributed-executor-backend", "ray"),
                        ("--reasoning-parser", "deepseek_r1")):
        assert args[args.index(flag) + 1] == value


def test_2xmi300x_uses_rocm_and_refuses_deepseek_with_a_reason():
    p = _plan("2xmi300x")
    assert p["qwen2.5-72b-instruct"].engine == "vllm-rocm"
    # one 192 GB GPU holds the 145 GB of weights but not a full context's KV cache: TP 2
    assert (p["qwen2.5-72b-instruct"].tp, p["qwen2.5-72b-instruct"].context) == (2, 32768)
    r1 = p["deepseek-r1"]
    assert not r1.fits and r1.engine == "none"
    assert "exceed 2 x 192 GB" in r1.reason and "needs 2 such nodes" in r1.reason
    assert p["qwen3-235b-a22b"].dtype == "fp8" and p["qwen3-235b-a22b"].tp == 2


def test_8x910b_uses_vllm_ascend_and_int8_where_bf16_does_not_fit():
    p = _plan("8x910b")
    assert {x.engine for x in p.values() if x.fits} == {"vllm-ascend"}
    assert p["ling-plus"].dtype == "int8-w8a8" and p["ling-plus"].tp == 8
    r1 = p["deepseek-r1"]  # no FP8 on 910B: bf16 is 1.3 TB; W8A8 needs two nodes
    assert not r1.fits and "needs 2 such nodes over Ray with int8-w8a8" in r1.reason
    assert p["ling-lite"].fits and p["ling-lite"].dtype == "bfloat16"


def test_2core_cpu_runs_packaged_models_on_llamacpp_and_refuses_the_giants():
    p = _plan("cpu-2core")
    for name in PACKAGED:
        x = p[name]
        assert (x.engine, x.quantization, x.tp, x.context) == ("llamacpp", None, 1, 8192)
    assert p["qwen2.5-coder-1.5b-instruct-q4km"].dtype == "q4_k_m"
    assert p["qwen2.5-coder-1.5b-instruct-q4km"].weights_gb == 1.12
    distill = p["deepseek-r1-distill-qwen-7b"]
    assert distill.fits and "GGUF" in distill.quantization
    for name in ("deepseek-r1", "deepseek-v3", "qwen2.5-72b-instruct", "qwen3-235b-a22b",
                 "ling-plus", "qwen3-32b"):
        assert not p[name].fits and "exceed 24 GB RAM" in p[name].reason


def test_apple_m2_runs_small_models_on_metal():
    p = _plan("m2")
    assert p["qwen2.5-coder-1.5b-instruct-q4km"].engine == "llamacpp-metal"
    assert p["qwen2.5-7b-instruct"].fits and p["qwen2.5-7b-instruct"].dtype == "q4_k_m"
    assert not p["deepseek-r1-distill-qwen-14b"].fits and not p["ling-lite"].fits


def test_mixed_fleet_keeps_packaged_models_on_cpu_and_big_ones_on_accelerators():
    p = _plan("mixed")
    assert {p[n].machine for n in PACKAGED} == {"cpu-2core"}
    assert p["qwen2.5-7b-instruct"].machine == "l4-box"  # the smallest GPU that holds it
    assert p["qwen3-235b-a22b"].machine == "dgx-h100"
    assert p["ling-plus"].machine in ("dgx-h100", "atlas-800t-a2")
    assert all(x.fits for x in p.values())


def test_tensor_parallel_size_divides_the_attention_heads():
    for preset in ("8xh100", "8x910b", "2xmi300x"):
        for x in plan(backbones().values(), presets()[preset]):
            if x.fits:
                assert backbone(x.backbone).heads % x.tp == 0


def test_a_machine_too_small_for_a_minimum_context_is_refused():
    tiny = Fleet((Machine(name="pi", cpu_cores=4, ram_gb=2.0),))
    assert not plan_one(backbone("qwen2.5-coder-1.5b-instruct-q4km"), tiny).fits
    assert plan_one(backbone("smollm2-135m-instruct"), tiny).fits


def test_plan_is_pure_and_ordered():
    fleet = presets()["mixed"]
    bs = [backbone("ling-lite"), backbone("gemma-3-270m")]
    assert plan(bs, fleet) == plan(bs, fleet)
    assert [x.backbone for x in plan(bs, fleet)] == ["ling-lite", "gemma-3-270m"]
    assert plan([], fleet) == []
    assert not plan_one(bs[0], Fleet(())).fits


def test_table_has_a_row_per_backbone():
    from rich.console import Console

    console = Console(width=250, record=True)
    console.print(plan_table(plan(backbones().values(), presets()["cpu-2core"])))
    text = console.export_text()
    assert text.count("llamacpp") >= 4 and text.count("does not fit") == 7
