"""Hardware detection: accelerators (CUDA, ROCm, Ascend, XPU, MPS) and CPU, as a frozen Fleet.

Every probe is best-effort: a missing tool, a driver error or an unparsable output means
"not this kind", never a crash. Parsers are pure functions so they are tested on real
captured outputs.
"""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

Kind = str  # "cuda" | "rocm" | "npu" | "xpu" | "mps" | "cpu"
PRESETS_FILE = Path(__file__).with_name("machines.yaml")

# Devices whose tensor cores run FP8 (Hopper, Ada, Blackwell, MI300): DeepSeek's FP8
# weights load as published there; elsewhere they need another checkpoint.
_FP8_DEVICES = ("H100", "H200", "H20", "H800", "L40S", "L4", "B100", "B200", "GB200",
                "RTX 40", "MI300", "MI325", "MI350", "MI355")


@dataclass(frozen=True)
class Machine:
    """One node: its accelerators (all of one kind) and its CPU; `count` identical nodes."""

    name: str
    accelerator: Kind = "cpu"  # cpu = no accelerator
    device_name: str = ""
    device_count: int = 0
    device_memory_gb: float = 0.0  # per device
    cpu_cores: int = 1
    ram_gb: float = 1.0
    cpu_flags: tuple[str, ...] = ()  # avx2, avx512f, avx512_bf16, amx_tile, neon ...
    arch: str = "x86_64"
    fp8: bool = False
    count: int = 1  # identical nodes of this kind (multi-node serving uses them together)

    @property
    def memory_gb(self) -> float:
        """Memory models can use on one node: accelerators' total, else RAM."""
        return self.device_count * self.device_memory_gb if self.device_count else self.ram_gb

    def describe(self) -> str:
        cpu = f"{self.cpu_cores} CPU cores, {self.ram_gb:g} GB RAM"
        flags = [f for f in ("avx2", "avx512f", "amx_tile", "neon") if f in self.cpu_flags]
        cpu += f" ({', '.join(flags)})" if flags else ""
        n = f"{self.count} x " if self.count > 1 else ""
        if self.device_count:
            return (f"{n}{self.name}: {self.device_count} x {self.device_name} "
                    f"({self.accelerator}, {self.device_memory_gb:g} GB each); {cpu}")
        return f"{n}{self.name}: {cpu}"


@dataclass(frozen=True)
class Fleet:
    """The machines a deployment can serve from."""

    machines: tuple[Machine, ...]

    def describe(self) -> str:
        return "\n".join(m.describe() for m in self.machines)


def supports_fp8(device_name: str) -> bool:
    """Whether a device runs FP8 weights natively (by its marketing name)."""
    up = device_name.upper()
    return any(tag in up for tag in _FP8_DEVICES)


def _run(cmd: list[str], timeout: float = 10.0) -> str | None:
    """A tool's stdout, or None when it is missing, fails or hangs."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


# ---- parsers of tool outputs (pure) ----


def parse_nvidia_smi(text: str) -> list[tuple[str, float]]:
    """`nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` -> (name, GB)."""
    out = []
    for line in text.strip().splitlines():
        name, _, mib = line.rpartition(",")
        try:
            out.append((name.strip(), round(float(mib) / 1024, 1)))
        except ValueError:
            continue
    return out


def parse_rocm_smi(text: str) -> list[tuple[str, float]]:
    """`rocm-smi --showproductname --showmeminfo vram --json` -> (name, GB)."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    out = []
    for key, card in sorted(data.items()):
        if not key.startswith("card") or not isinstance(card, dict):
            continue
        total = next((v for k, v in card.items() if "VRAM Total Memory" in k), 0)
        name = (card.get("Card Series") or card.get("Card series")
                or card.get("Card SKU", "AMD GPU"))
        out.append((str(name), round(int(total) / 2**30, 1)))
    return out


def parse_npu_smi(text: str) -> list[tuple[str, float]]:
    """`npu-smi info` table -> (name, GB): rows `| 0  910B3 | OK | ...` then `... 3400 / 65536 |`."""
    out: list[tuple[str, float]] = []
    name = None
    for line in text.splitlines():
        m = re.match(r"\|\s*\d+\s+(\S*910\S*|\S*310\S*)\s*\|", line)
        if m:
            name = f"Ascend {m.group(1)}"
            continue
        if name:
            mems = re.findall(r"(\d+)\s*/\s*(\d+)", line)
            if mems:  # the last "used / total" pair on the row is HBM in MB
                out.append((name, round(int(mems[-1][1]) / 1024, 1)))
                name = None
    return out


def parse_cpuinfo(text: str) -> tuple[str, ...]:
    """The instruction-set flags a planner cares about, from /proc/cpuinfo."""
    m = re.search(r"^(?:flags|Features)\s*:\s*(.*)$", text, re.M)
    have = set(m.group(1).split()) if m else set()
    wanted = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile",
              "amx_bf16", "asimd", "sve")
    return tuple(f for f in wanted if f in have)


# ---- probes ----


def _nvidia() -> list[tuple[str, float]]:
    text = _run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"])
    return parse_nvidia_smi(text) if text else []


def _rocm() -> list[tuple[str, float]]:
    text = _run(["rocm-smi", "--showproductname", "--showmeminfo", "vram", "--json"])
    return parse_rocm_smi(text) if text else []


def _ascend() -> list[tuple[str, float]]:
    text = _run(["npu-smi", "info"])
    return parse_npu_smi(text) if text else []


def _torch_devices() -> tuple[Kind, list[tuple[str, float]]]:
    """Fallback through torch (and torch_npu) when vendor tools are not on PATH."""
    try:
        import torch
    except Exception:  # noqa: BLE001 - any broken install means "no torch devices"
        return "cpu", []
    try:
        if torch.cuda.is_available():
            kind = "rocm" if getattr(torch.version, "hip", None) else "cuda"
            props = [torch.cuda.get_device_properties(i) for i in range(torch.cuda.device_count())]
            return kind, [(p.name, round(p.total_memory / 2**30, 1)) for p in props]
        if hasattr(torch, "xpu") and torch.xpu.is_available():
            props = [torch.xpu.get_device_properties(i) for i in range(torch.xpu.device_count())]
            return "xpu", [(p.name, round(p.total_memory / 2**30, 1)) for p in props]
        try:
            import torch_npu  # noqa: F401 - registers torch.npu
        except Exception:  # noqa: BLE001
            pass
        else:
            n = torch.npu.device_count()
            props = [torch.npu.get_device_properties(i) for i in range(n)]
            return "npu", [(p.name, round(p.total_memory / 2**30, 1)) for p in props]
        if torch.backends.mps.is_available():
            return "mps", [("Apple GPU", 0.0)]
    except Exception:  # noqa: BLE001 - a driver error must not stop detection
        pass
    return "cpu", []


def _ram_gb() -> float:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 1e9, 1)
    except Exception:  # noqa: BLE001
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1)


def _cpu() -> Machine:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        flags = parse_cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        flags = ("neon",) if platform.machine() in ("arm64", "aarch64") else ()
    return Machine(name=platform.node() or "this machine", cpu_cores=cores, ram_gb=_ram_gb(),
                   cpu_flags=flags, arch=platform.machine() or "unknown")


def detect(use_torch: bool = True) -> Fleet:
    """This machine, as a one-machine Fleet. Never raises for missing tools or drivers."""
    base = _cpu()
    kind, devices = "cpu", _nvidia()
    if devices:
        kind = "cuda"
    elif devices := _rocm():
        kind = "rocm"
    elif devices := _ascend():
        kind = "npu"
    elif use_torch:
        kind, devices = _torch_devices()
    if kind == "mps":  # unified memory: Metal may use about 3/4 of RAM
        devices = [("Apple GPU (unified memory)", round(base.ram_gb * 0.75, 1))]
    if not devices:
        return Fleet((base,))
    name = devices[0][0]
    return Fleet((replace(base, accelerator=kind, device_name=name, device_count=len(devices),
                          device_memory_gb=min(gb for _, gb in devices),
                          fp8=supports_fp8(name)),))


# ---- described fleets (YAML) ----


def machine_from_dict(d: dict[str, Any]) -> Machine:
    """A Machine from a described-machine mapping (YAML); fp8 defaults from the device name."""
    d = dict(d)
    d["cpu_flags"] = tuple(d.get("cpu_flags", ()))
    d.setdefault("fp8", supports_fp8(str(d.get("device_name", ""))))
    if d.get("accelerator", "cpu") == "cpu":
        d["device_count"] = 0
    return Machine(**d)


def presets() -> dict[str, Fleet]:
    """Described example fleets by name (machines.yaml): 8xh100, 2xmi300x, cpu-2core, ..."""
    import yaml

    data = yaml.safe_load(PRESETS_FILE.read_text(encoding="utf-8"))
    return {k: Fleet(tuple(machine_from_dict(m) for m in v)) for k, v in data.items()}


def load_fleet(path_or_preset: str | Path) -> Fleet:
    """A fleet from a YAML file (`machines: [...]`) or a preset name."""
    import yaml

    from medqa.errors import ConfigError, UnknownName

    p = Path(path_or_preset)
    if not p.is_file():
        known = presets()
        if str(path_or_preset) in known:
            return known[str(path_or_preset)]
        raise UnknownName("machine file or preset", str(path_or_preset), list(known))
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    machines = data.get("machines", data if isinstance(data, list) else None)
    if not machines:
        raise ConfigError(f"{p} describes no machines.", "Write `machines: [{name: ..., ...}]`.")
    try:
        return Fleet(tuple(machine_from_dict(m) for m in machines))
    except TypeError as e:
        raise ConfigError(f"{p}: {e}", f"Valid keys: {list(Machine.__dataclass_fields__)}") from e
