"""The four VL-JEPA parts, each an exportable `nn.Module` with plain tensor inputs and outputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel, VJEPA2Config, VJEPA2Model

from jepa_export.checkpoints import patch_side
from jepa_export.vljepa.config import (
    PredictorConfig,
    Preprocessing,
    XEncoderConfig,
    YDecoderConfig,
    YEncoderConfig,
)


class TransformerBlock(nn.Module):
    """Pre-norm self-attention + MLP; `attention_mask` is additive or boolean (True = may attend)."""

    def __init__(self, width: int, num_heads: int, mlp_ratio: float) -> None:
        super().__init__()
        if width % num_heads:
            raise ValueError(f"num_heads: got {num_heads}, must divide width {width}")
        self.num_heads = num_heads
        self.attention_norm = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_out = nn.Linear(width, width)
        self.mlp_norm = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_cached(hidden_states, attention_mask)[0]

    def forward_cached(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        past_keys: torch.Tensor | None = None,
        past_values: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Also attends to `past_keys`/`past_values` (B, heads, P, head width) and returns the keys
        and values of every position so far: one step of KV-cached decoding."""
        batch, length, width = hidden_states.shape
        qkv = self.qkv(self.attention_norm(hidden_states))
        queries, keys, values = qkv.reshape(batch, length, 3, self.num_heads, width // self.num_heads).permute(2, 0, 3, 1, 4)
        if past_keys is not None and past_values is not None:
            keys, values = torch.cat([past_keys, keys], dim=2), torch.cat([past_values, values], dim=2)
        attended = F.scaled_dot_product_attention(queries, keys, values, attn_mask=attention_mask)
        attended = attended.transpose(1, 2).reshape(batch, length, width)
        hidden_states = hidden_states + self.attention_out(attended)
        return hidden_states + self.mlp(self.mlp_norm(hidden_states)), keys, values


def vjepa2_config(x_encoder: XEncoderConfig, preprocessing: Preprocessing) -> VJEPA2Config:
    return VJEPA2Config(
        crop_size=preprocessing.crop_size, frames_per_clip=preprocessing.frames_per_clip, **x_encoder.vjepa2
    )


def num_visual_tokens(vjepa2: VJEPA2Config) -> int:
    spatial = vjepa2.crop_size // patch_side(vjepa2)
    return (vjepa2.frames_per_clip // vjepa2.tubelet_size) * spatial * spatial


class XEncoder(nn.Module):
    """Normalised pixels (B, T, 3, H, W) -> V-JEPA 2 visual tokens (B, N, Dx)."""

    def __init__(self, x_encoder: XEncoderConfig, preprocessing: Preprocessing) -> None:
        super().__init__()
        self.vjepa2 = VJEPA2Model(vjepa2_config(x_encoder, preprocessing))

    def forward(self, pixel_values_videos: torch.Tensor) -> torch.Tensor:
        return self.vjepa2.get_vision_features(pixel_values_videos)


class Predictor(nn.Module):
    """Visual tokens (B, N, Dx) -> predicted text-space embedding (B, D), L2-normalised.

    The query tokens stand for the paper's fixed retrieval prompt; learned here because the demo has
    no language model whose prompt embeddings they could be.
    """

    def __init__(self, config: PredictorConfig, visual_dim: int, num_visual: int, embedding_dim: int) -> None:
        super().__init__()
        self.visual_projection = nn.Linear(visual_dim, config.width)
        self.visual_positions = nn.Parameter(torch.zeros(1, num_visual, config.width))
        self.query_tokens = nn.Parameter(torch.zeros(1, config.num_query_tokens, config.width))
        nn.init.normal_(self.visual_positions, std=0.5)
        nn.init.trunc_normal_(self.query_tokens, std=0.02)
        self.blocks = nn.ModuleList(
            TransformerBlock(config.width, config.num_heads, config.mlp_ratio) for _ in range(config.num_layers)
        )
        self.norm = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, embedding_dim)

    def forward(self, visual_tokens: torch.Tensor) -> torch.Tensor:
        visual = self.visual_projection(visual_tokens) + self.visual_positions
        queries = self.query_tokens.expand(visual.shape[0], -1, -1)
        hidden_states = torch.cat([visual, queries], dim=1)
        for block in self.blocks:
            hidden_states = block(hidden_states)
        pooled = self.norm(hidden_states).mean(dim=1)
        return F.normalize(self.head(pooled), dim=-1)


def masked_mean(token_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    weights = attention_mask.unsqueeze(-1).to(token_states.dtype)
    return (token_states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


class YEncoder(nn.Module):
    """Token ids (B, L) + attention mask -> text-space embedding (B, D), L2-normalised.

    The base's own sentence embedding (masked mean, L2) is what sentence-transformers returns, so a
    frozen base can be cached per caption and only `projection` trained.
    """

    def __init__(self, config: YEncoderConfig, base: PreTrainedModel, embedding_dim: int) -> None:
        super().__init__()
        self.base = base
        self.projection = nn.Linear(config.base_dim, embedding_dim)
        # Start from the base's own geometry (identity where the sizes allow), so the text targets
        # are meaningful from the first step instead of a random rotation the video side must chase.
        nn.init.eye_(self.projection.weight)
        nn.init.zeros_(self.projection.bias)

    def base_embedding(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        token_states = self.base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return F.normalize(masked_mean(token_states, attention_mask), dim=-1)

    def project(self, base_embedding: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.projection(base_embedding), dim=-1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.project(self.base_embedding(input_ids, attention_mask))


class YDecoder(nn.Module):
    """Embedding (B, D) + token prefix (B, L) -> next-token logits (B, V): one greedy decoding step.

    The embedding becomes `num_prefix_tokens` prefix tokens that every caption token attends to; the
    caption tokens attend causally among themselves.
    """

    def __init__(self, config: YDecoderConfig, embedding_dim: int) -> None:
        super().__init__()
        self.num_prefix_tokens = config.num_prefix_tokens
        self.width = config.width
        self.prefix = nn.Linear(embedding_dim, config.num_prefix_tokens * config.width)
        self.token_embedding = nn.Embedding(len(config.vocabulary), config.width)
        self.positions = nn.Parameter(torch.zeros(1, config.num_prefix_tokens + config.max_tokens, config.width))
        nn.init.trunc_normal_(self.positions, std=0.02)
        self.blocks = nn.ModuleList(
            TransformerBlock(config.width, config.num_heads, config.mlp_ratio) for _ in range(config.num_layers)
        )
        self.norm = nn.LayerNorm(config.width)
        self.lm_head = nn.Linear(config.width, len(config.vocabulary))

    def sequence_logits(self, embedding: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
        """Logits (B, L, V) for every prefix position (teacher forcing)."""
        batch, length = token_ids.shape
        prefix = self.prefix(embedding).reshape(batch, self.num_prefix_tokens, self.width)
        hidden_states = torch.cat([prefix, self.token_embedding(token_ids)], dim=1)
        total = self.num_prefix_tokens + length
        hidden_states = hidden_states + self.positions[:, :total]
        positions = torch.arange(total, device=token_ids.device)
        attention_mask = (positions[None, :] <= positions[:, None]) | (positions[None, :] < self.num_prefix_tokens)
        for block in self.blocks:
            hidden_states = block(hidden_states, attention_mask)
        return self.lm_head(self.norm(hidden_states[:, self.num_prefix_tokens :]))

    def forward(self, embedding: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
        return self.sequence_logits(embedding, token_ids)[:, -1]
