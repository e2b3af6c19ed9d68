"""Torch modules with the fixed input/output names of the served models (docs/repository-format.md)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class VideoEncoderForExport(torch.nn.Module):
    """pixel_values_videos (B,T,3,H,W) -> clip_embedding (B,D), visual_tokens (B,N,D).

    Upstream V-JEPA 2 defines no global vector: the clip embedding is the mean of the last hidden
    states, L2-normalised.
    """

    input_names = ("pixel_values_videos",)
    output_names = ("clip_embedding", "visual_tokens")

    def __init__(self, vjepa2: torch.nn.Module) -> None:
        super().__init__()
        self.vjepa2 = vjepa2

    def pool(self, visual_tokens: torch.Tensor) -> torch.Tensor:
        return visual_tokens.mean(dim=1)

    def forward(self, pixel_values_videos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        visual_tokens = self.vjepa2(pixel_values_videos=pixel_values_videos, skip_predictor=True).last_hidden_state
        return F.normalize(self.pool(visual_tokens), dim=-1), visual_tokens


class PooledVideoEncoderForExport(VideoEncoderForExport):
    """Same tensors, but the clip embedding is the trained attentive pooler's output.

    `VJEPA2ForVideoClassification` checkpoints train that pooler on labelled video; its output
    (what their classifier reads) is a better clip vector than the plain token mean.
    """

    def __init__(self, classifier: torch.nn.Module) -> None:
        super().__init__(classifier.get_submodule("vjepa2"))
        self.pooler = classifier.get_submodule("pooler")

    def pool(self, visual_tokens: torch.Tensor) -> torch.Tensor:
        return self.pooler(visual_tokens)


def video_encoder_for_export(model: torch.nn.Module) -> VideoEncoderForExport:
    """The export wrapper that fits a loaded V-JEPA 2 (`VJEPA2Model` or the classifier)."""
    if hasattr(model, "pooler") and hasattr(model, "vjepa2"):
        return PooledVideoEncoderForExport(model)
    return VideoEncoderForExport(model)


class TextEncoderForExport(torch.nn.Module):
    """input_ids, attention_mask (B,L) -> text_embedding (B,D): pooled token states
    (then the optional sentence-transformers Dense projection), L2-normalised."""

    input_names = ("input_ids", "attention_mask")
    output_names = ("text_embedding",)

    def __init__(self, encoder: torch.nn.Module, pooling: str = "mean", projection: torch.nn.Module | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.projection = projection if projection is not None else torch.nn.Identity()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        token_states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            pooled = token_states[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(token_states.dtype)
            pooled = (token_states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return F.normalize(self.projection(pooled), dim=-1)
