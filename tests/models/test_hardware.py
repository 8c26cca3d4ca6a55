"""Hardware detection: parsers on real tool outputs, and detection without any tools."""
from __future__ import annotations

import pytest

from medqa.errors import ConfigError, UnknownName
from medqa.models import hardware
from medqa.models.hardware import (detect, load_fleet, parse_cpuinfo, parse_npu_smi,
                                   parse_nvidia_smi, parse_rocm_smi, presets, supports_fp8)

NVIDIA = "NVIDIA H100 80GB HBM3, 81559\nNVIDIA H100 80GB HBM3, 81559\n"
ROCM = ('{"card0": {"Card Series": "AMD Instinct MI300X", "VRAM Total Memory (B)": '
        '"205822885888", "VRAM Total Used Memory (B)": "11000000"}, '
        '"card1": {"Card Series": "AMD Instinct MI300X", "VRAM Total Memory (B)": '
        '"205822885888"}, "system": {"Driver version": "6.3"}}')
NPU = """\
+------------------------------------------------------------------------------------------------+
| npu-smi 23.0.rc2                 Version: 23.0.rc2                                             |
+---------------------------+---------------+----------------------------------------------------+
| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|
| Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |
+===========================+===============+====================================================+
| 0     910B3               | OK            | 93.7        37                0    / 0             |
| 0                         | 0000:C1:00.0  | 0           0    / 0          3381 / 65536         |
+===========================+===============+====================================================+
| 1     910B3               | OK            | 90.1        36                0    / 0             |
| 0                         | 0000:C2:00.0  | 0           0    / 0          3380 / 65536         |
+===========================+===============+====================================================+
"""


def test_vendor_tool_outputs_parse_to_devices_and_memory():
    assert parse_nvidia_smi(NVIDIA) == [("NVIDIA H100 80GB HBM3", 79.6)] * 2
    assert parse_rocm_smi(ROCM) == [("AMD Instinct MI300X", 191.7)] * 2
    assert parse_npu_smi(NPU) == [("Ascend 910B3", 64.0)] * 2


def test_garbage_outputs_parse_to_nothing():
    assert parse_nvidia_smi("No devices were found") == []
    assert parse_rocm_smi("not json") == []
    assert parse_npu_smi("command not supported") == []


def test_cpu_flags_are_read_from_cpuinfo():
    text = "processor\t: 0\nflags\t\t: fpu sse avx avx2 fma avx512f amx_tile\n"
    assert parse_cpuinfo(text) == ("avx", "avx2", "fma", "avx512f", "amx_tile")
    assert parse_cpuinfo("") == ()


def test_fp8_capability_follows_the_device_generation():
    assert supports_fp8("NVIDIA H100 80GB HBM3") and supports_fp8("AMD Instinct MI300X")
    assert not supports_fp8("NVIDIA A100-SXM4-80GB") and not supports_fp8("Ascend 910B3")


def test_detect_without_any_vendor_tool_is_this_cpu(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no nvidia-smi, rocm-smi, npu-smi at all
    fleet = detect(use_torch=False)
    (m,) = fleet.machines
    assert m.accelerator == "cpu" and m.device_count == 0
    assert m.cpu_cores >= 1 and m.ram_gb > 0.5
    assert "CPU cores" in fleet.describe()


def test_a_hanging_or_failing_tool_counts_as_absent(tmp_path, monkeypatch):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert hardware._nvidia() == []
    assert detect(use_torch=False).machines[0].accelerator == "cpu"


def test_devices_a_vendor_tool_reports_are_detected(tmp_path, monkeypatch):
    fake = tmp_path / "nvidia-smi"  # a stand-in printing the real tool's CSV
    (tmp_path / "out.csv").write_text(NVIDIA)
    fake.write_text(f"#!/bin/sh\n/bin/cat {tmp_path / 'out.csv'}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    (m,) = detect(use_torch=False).machines
    assert (m.accelerator, m.device_count, m.device_memory_gb, m.fp8) == ("cuda", 2, 79.6, True)


def test_described_fleets_load_from_presets_and_files(tmp_path):
    assert {"8xh100", "2xmi300x", "8x910b", "cpu-2core", "m2", "mixed"} <= set(presets())
    f = tmp_path / "fleet.yaml"
    f.write_text("machines:\n  - {name: a, accelerator: cuda, device_name: NVIDIA A100, "
                 "device_count: 4, device_memory_gb: 40, count: 2}\n")
    (m,) = load_fleet(f).machines
    assert (m.count, m.memory_gb, m.fp8) == (2, 160, False)
    f.write_text("machines:\n  - {name: a, gpus: 3}\n")
    with pytest.raises(ConfigError):
        load_fleet(f)
    with pytest.raises(UnknownName):
        load_fleet("no-such-preset")
