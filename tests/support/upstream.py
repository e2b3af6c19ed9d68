"""facebookresearch/vjepa2 checkpoints written from tiny transformers models, for the loaders' tests."""

from __future__ import annotations

import re

import torch

TINY_VJEPA2 = dict(
    hidden_size=64, num_hidden_layers=2, num_attention_heads=4, crop_size=64, frames_per_clip=8,
    pred_hidden_size=32, pred_num_hidden_layers=1, pred_num_attention_heads=2, num_pooler_layers=1,
)


def to_upstream(state_dict: dict[str, torch.Tensor], prefix: str = "module.backbone.") -> dict[str, torch.Tensor]:
    """A `VJEPA2Model` encoder state dict under facebookresearch/vjepa2's names (fused qkv).

    Written independently of the loader's mapping, from upstream's vision_transformer.py, so
    the loader is tested against the real naming and not against itself.
    """
    upstream: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        if key.startswith("predictor."):
            continue
        key = key.replace("encoder.embeddings.patch_embeddings.", "patch_embed.").replace("encoder.layernorm.", "norm.")
        key = key.replace("encoder.layer.", "blocks.").replace(".attention.", ".attn.")
        upstream[key] = tensor.clone()
    for key in [key for key in upstream if re.search(r"\.attn\.query\.", key)]:
        for kind in ("weight", "bias"):
            if key.endswith(kind):
                parts = [upstream.pop(key.replace(".query.", f".{name}.")) for name in ("query", "key", "value")]
                upstream[key.replace(".query.", ".qkv.")] = torch.cat(parts, dim=0)
    return {prefix + key: tensor for key, tensor in upstream.items()}


def tiny_vjepa2(seed: int):
    from transformers import VJEPA2Config, VJEPA2Model

    torch.manual_seed(seed)
    return VJEPA2Model(VJEPA2Config(**TINY_VJEPA2)).eval()
