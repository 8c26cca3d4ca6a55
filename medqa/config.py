"""Settings, with the one precedence rule: CLI > MEDQA_* env > medqa.toml > defaults.

Nested groups are set from the environment with a double underscore, e.g.
MEDQA_RETRIEVAL__CHUNK_SIZE=800, and in medqa.toml as tables ([retrieval]).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    return Path(os.environ.get("MEDQA_HOME", Path.home() / ".medqa")).expanduser()


def _default_data_dir() -> Path:
    # A checkout sits beside ../shared/data on the team's machines and in CI.
    shared = PROJECT_ROOT.parent / "shared" / "data"
    return shared if shared.is_dir() else PROJECT_ROOT / "data" / "files"


class RetrievalSettings(BaseModel):
    """Chunking, embedding and search settings."""

    embedding_model: str = "minilm"  # a name in medqa.retrieval.embeddings' registry
    chunk_size: int = 1000
    chunk_overlap: int = 100
    k: int = 5
    rrf_k: int = 60
    chroma_url: str | None = None  # http://host:port of a `chroma run` server; None = embedded
    default_corpora: list[str] = Field(default_factory=lambda: ["medquad"])
    max_query_chars: int = 4000
    reranker: str = "none"  # a name in medqa.retrieval.rerank's registry; none ships offline
    # Below this cosine between the question and its nearest chunk, nothing in the index is
    # about the question (off-topic, or a language the embedder does not read): search returns
    # no passage rather than the least bad ones. None = the embedder's measured floor
    # (Embedder.relevance_floor); 0 turns it off.
    min_relevance: float | None = None


class ModelSettings(BaseModel):
    """Which concrete backbone each role is bound to, and where engines run."""

    roles: dict[str, str] = Field(
        default_factory=lambda: {
            "general": "qwen2.5-coder-1.5b-instruct-q4km",
            "efficient": "qwen2.5-coder-0.5b-instruct",
            "reasoning": "qwen2.5-coder-1.5b-instruct-q4km",
        }
    )
    default_role: str = "general"
    engine: str = "llamacpp"  # llamacpp | transformers | vllm
    vllm_urls: dict[str, list[str]] = Field(default_factory=dict)  # backbone -> base URLs
    n_threads: int | None = None
    replicas: int = 1  # engines per backbone behind one least-outstanding-requests balancer
    n_ctx: int = 4096
    request_timeout_s: float = 120.0


class AnswerSettings(BaseModel):
    """How much retrieved text a prompt carries and how long an answer may run; None = the
    engine's budget in medqa.prompts.BUDGETS (compact for in-process CPU engines, where
    prefill sets the time to first token, wide for vLLM servers)."""

    context_tokens: int | None = None
    top_passages: int | None = None
    max_tokens: int | None = None


class RoutingSettings(BaseModel):
    """Which router picks the backbone, retrieval and reasoning per question."""

    router: str = "signal"  # signal | learned | learned:<dir> | fixed (the default role binding)


class SafetySettings(BaseModel):
    """Triage, PHI redaction and the hospital's policy file."""

    mode: str = "staff"  # staff | patient
    policy_file: Path | None = None
    redact_remote_prompts: bool = True
    emergency_number: str = "120"  # mainland China; hospitals elsewhere set 911, 112, ...
    audit_retention_days: int = 2190  # `medqa audit prune` drops older records (6 years, HIPAA's minimum)


class ServerSettings(BaseModel):
    """Web app and REST server."""

    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: int = 20


class Settings(BaseSettings):
    """All of medqa's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="MEDQA_",
        env_nested_delimiter="__",
        toml_file=os.environ.get("MEDQA_CONFIG", "medqa.toml"),
        extra="ignore",
    )

    home: Path = Field(default_factory=_default_home)
    data_dir: Path = Field(default_factory=_default_data_dir)
    tenant: str = "default"
    # Assembled weights are big and shared by every tenant and test: they may live apart
    # from the rest of the state (tests use a fresh home but the user's models).
    models_path: Path | None = None
    # Below this much free disk under `home`, ingest refuses to start and /healthz says
    # "degraded": a full disk would stop the audit log, which every answer writes to.
    min_free_mb: int = 200
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    safety: SafetySettings = Field(default_factory=SafetySettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    # ---- derived paths: one place decides where state lives ----
    @property
    def index_dir(self) -> Path:
        return self.home / "index" / self.tenant

    @property
    def models_dir(self) -> Path:
        return self.models_path or self.home / "models"

    @property
    def audit_db(self) -> Path:
        return self.home / "audit.sqlite3"


def load_settings(**overrides: Any) -> Settings:
    """Settings from every source; keyword overrides (the CLI's flags) win."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
