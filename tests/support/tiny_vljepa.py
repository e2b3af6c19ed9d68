"""A tiny VL-JEPA configuration: every part runs in milliseconds (the MiniLM base is the real one)."""

from __future__ import annotations

from jepa_export.demo import caption_vocabulary
from jepa_export.vljepa.config import (
    PredictorConfig,
    Preprocessing,
    VLJepaConfig,
    XEncoderConfig,
    YDecoderConfig,
)
from jepa_export.vljepa.model import decoder_vocabulary


def build_tiny_config() -> VLJepaConfig:
    return VLJepaConfig(
        embedding_dim=16,
        preprocessing=Preprocessing(frames_per_clip=4, crop_size=32, resize_short_side=32),
        x_encoder=XEncoderConfig(
            vjepa2={
                "patch_size": 16,
                "tubelet_size": 2,
                "hidden_size": 32,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "pred_hidden_size": 16,
                "pred_num_hidden_layers": 1,
                "pred_num_attention_heads": 2,
                "num_pooler_layers": 1,
            }
        ),
        predictor=PredictorConfig(width=16, num_layers=1, num_heads=2, num_query_tokens=2),
        y_decoder=YDecoderConfig(
            vocabulary=decoder_vocabulary(caption_vocabulary()), width=16, num_layers=1, num_heads=2
        ),
    )
