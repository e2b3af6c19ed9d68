"""Every tunable of the gateway, from one place (environment prefix `JEPA_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1 << 20


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JEPA_", env_nested_delimiter="__")

    # Network
    host: str = "127.0.0.1"
    port: int = 50051
    metrics_port: int | None = Field(9100, description="Prometheus /metrics port; 0 picks a free one, None turns it off")
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
    media_roots: list[Path] = Field(default_factory=list)

    # Limits (each one is a clear error when exceeded)
    max_message_bytes: int = 64 * MIB
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
