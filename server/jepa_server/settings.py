"""Every tunable of the gateway, from one place (environment prefix `JEPA_`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1 << 20


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JEPA_", env_nested_delimiter="__")

    # Logging of every `jepa-serve` command (JEPA_LOG_LEVEL, or --log-level).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Network
    host: str = "127.0.0.1"
    port: int = 50051
    metrics_port: int | None = Field(9100, description="Prometheus /metrics port; 0 picks a free one, None turns it off")
    # The HTTP/JSON front end and search page (docs/http.md), on the same host; 0 picks a free port,
    # None turns it off.
    http_port: int | None = Field(8080, description="HTTP/JSON API and search page port; 0 picks a free one, None turns it off")
    # One Triton, or several serving the same repository ("host1:8001,host2:8001"): calls go
    # round-robin over those up and fail over to the next.
    triton_url: str = "127.0.0.1:8001"
    triton_timeout_s: float = 60.0
    # Folder of the exported repository: the gateway reads the tokenizer files from it.
    model_repository: Path = Path("artifacts/repository/cpu")

    # Models ("" = pick by role from what Triton serves)
    default_video_model: str = ""
    default_text_model: str = ""
    warmup: bool = True

    # Video
    decode_workers: int = 2
    max_concurrent_decodes: int = 4
    default_frame_step: int = 1
    # Cosine distance between a window and its segment's mean that starts a new caption (Describe).
    describe_threshold: float = 0.45
    # Cosine distance at which a video's windows split into moments (Search with moments): the
    # windows overlap there (stride half a window), so they split at a smaller distance.
    moment_threshold: float = 0.3
    media_roots: list[Path] = Field(default_factory=list)

    # Index: a path ending in .db is a Milvus Lite file, http(s)://host:19530[/database] a Milvus
    # server (the database is created on first use).
    index_uri: str = "data/index.db"
    # Vector index (metric COSINE): "" follows the size: HNSW on a server (M 16, efConstruction 200,
    # ef 64); on Milvus Lite exact FLAT until a collection holds `index_ann_threshold_rows` rows, then
    # IVF_FLAT (nlist 4·√rows, nprobe 32). A type given here is used as it is, with the params as
    # they are, e.g. {"nlist": 128} / {"nprobe": 16} for IVF_FLAT, {"M": 16, ...} / {"ef": 64} for HNSW.
    index_type: str = ""
    index_ann_threshold_rows: int = Field(20_000, ge=1)
    index_build_params: dict[str, int] = Field(default_factory=dict)
    index_search_params: dict[str, int] = Field(default_factory=dict)
    # Index diagnostics (AnalyzeIndex, docs/diagnostics.md): rows analysed at most (beyond, a uniform
    # sample), and the recent text queries kept per collection for the coverage report (0 = none:
    # opt in, the texts stay in memory only).
    diagnostics_max_rows: int = Field(50_000, ge=100)
    query_sample_size: int = Field(0, ge=0)
    # Drift watch: every `drift_check_interval_s` (0 = off) the gateway compares the default video
    # model's rows indexed in the last `drift_window_s` with those before, for the drift metrics.
    drift_check_interval_s: float = Field(0.0, ge=0)
    drift_window_s: float = Field(86_400.0, gt=0)
    # Items of one IndexVideos stream embedded at the same time (reading the stream waits beyond).
    index_concurrency: int = Field(4, ge=1)
    # How often the gateway checks the index answers (RetrievalService health, jepa_index_up), and
    # how long one check may take.
    index_health_interval_s: float = Field(5.0, gt=0)
    index_health_timeout_s: float = Field(2.0, gt=0)
    # Model migration (docs/operating.md): the Milvus alias that names the collection taking calls
    # without a model (gateways sharing an index must share it; "<alias>_previous" keeps the one a
    # rollback returns to), and how long a gateway trusts what it last read of the alias: a switch
    # made by another gateway is followed within this bound.
    serving_alias: str = Field("jepa_serving", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
    serving_alias_ttl_s: float = Field(2.0, gt=0)
    # After a switch, the migration waits this long (past every gateway's alias TTL and the writes
    # in flight at the switch), then copies what still reached the old collection.
    switch_settle_s: float = Field(5.0, ge=0)

    # Limits (each one is a clear error when exceeded)
    max_message_bytes: int = 64 * MIB
    # Total size of one EmbedVideoStream upload (spooled to a temporary file, never held in memory).
    max_upload_bytes: int = 2048 * MIB
    upload_dir: Path | None = Field(None, description="where uploads wait while decoded; None = the system's temporary directory")
    max_top_k: int = 1000
    max_index_items: int = 10_000
    max_ids: int = 1000
    max_filter_chars: int = 4096
    max_metadata_bytes: int = 65_536
    max_concurrent_requests: int = 64
    max_decoded_frames: int = 4096
    max_video_seconds: float = 3600.0
    max_video_pixels: int = 3840 * 2160
    max_windows: int = 256
    max_texts: int = 256
    max_text_chars: int = 20_000
    # Longer texts are cut to the model's token limit (as sentence-transformers does) unless off.
    truncate_texts: bool = True
    # Token sequences are padded to a multiple of this, so that requests of similar lengths batch.
    token_bucket: int = 16

    # Planning (PlanService, docs/world-model.md). Where a plan's auto-regressive rollouts run:
    # "triton" one world_rollout call per CEM iteration, "gateway" the gateway drives world_predictor
    # once per horizon step, "auto" world_rollout when the world model has one (the cpu target).
    plan_rollout: Literal["auto", "triton", "gateway"] = "auto"
    # samples x horizon of one CEM iteration: the predictor steps one iteration asks Triton for.
    plan_max_rollout_steps: int = Field(16_384, ge=1)
    plan_max_iterations: int = Field(50, ge=1)

    # On SIGTERM the gateway stops taking calls and gives in-flight ones this long to finish.
    shutdown_grace_s: float = Field(10.0, ge=0)

    # Security (docs/security.md). TLS is on when a certificate and key are given.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # CA bundle that signs client certificates; with tls_require_client_cert: mutual TLS.
    tls_client_ca_file: Path | None = None
    tls_require_client_cert: bool = False
    # Bearer tokens: comma-separated (env JEPA_AUTH_TOKENS) and/or one per line in a file.
    # Any token configured turns authentication on for every RPC.
    auth_tokens: SecretStr = SecretStr("")
    auth_tokens_file: Path | None = None
    auth_exempt_health: bool = True
    auth_exempt_reflection: bool = False

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, level: object) -> object:
        return level.upper() if isinstance(level, str) else level

    @model_validator(mode="after")
    def _check_tls(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file: TLS needs both or neither")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("tls_client_ca_file: client certificates need TLS (tls_cert_file and tls_key_file)")
        if self.tls_require_client_cert and self.tls_client_ca_file is None:
            raise ValueError("tls_require_client_cert: needs tls_client_ca_file to verify client certificates")
        return self
