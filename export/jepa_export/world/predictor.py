"""The action-conditioned predictor of V-JEPA 2-AC (upstream `src/models/ac_predictor.py`).

A block-causal transformer over frame tokens: every frame's patch tokens are preceded by one
action token and one state token (and an extrinsics token when used), and a token attends to
every token of its own frame and of earlier frames. Frame tokens are rotated by 3-D RoPE (time,
row, column), conditioning tokens by 1-D RoPE over time. The tokens of frame t predict frame t+1.

Module and parameter names are upstream's, so the `predictor` of `vjepa2-ac-vitg.pt` loads with
`strict=True` (`load_official_predictor`). Two things differ on purpose, neither changes outputs:
the block-causal mask is computed from the input's frame count (so one ONNX graph serves any
horizon), and attention is written out (softmax(QK^T) V) so every exporter traces it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch
from pydantic import BaseModel, Field
from torch import nn

from jepa_export.checkpoints import CheckpointError, listing, strip_prefixes

# Attention heads are not visible in the weights: upstream's `vit_ac_predictor` default.
UPSTREAM_AC_HEADS = 16


class ACPredictorConfig(BaseModel):
    """Hyper-parameters of `ACPredictor`; the names follow upstream's constructor."""

    embed_dim: int = Field(gt=0, description="width of the encoder tokens it reads and predicts")
    predictor_embed_dim: int = Field(gt=0)
    depth: int = Field(gt=0)
    num_heads: int = Field(gt=0)
    mlp_ratio: float = 4.0
    # Upstream `action_embed_dim`: the size of one action and of one state (proprioception).
    action_dim: int = Field(gt=0)
    grid_height: int = Field(gt=0, description="patch rows of one frame")
    grid_width: int = Field(gt=0, description="patch columns of one frame")
    use_extrinsics: bool = False
    qkv_bias: bool = True
    layer_norm_eps: float = 1e-6

    @property
    def tokens_per_frame(self) -> int:
        return self.grid_height * self.grid_width

    @property
    def conditioning_tokens(self) -> int:
        return 3 if self.use_extrinsics else 2


def rotate(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Upstream `rotate_queries_or_keys`, bit for bit: pairs (x0, x1) rotate by angles whose
    frequencies are laid out [f, f] (concatenated), the layout the released weights learnt."""
    half = x.size(-1) // 2
    omega = 1.0 / 10000 ** (torch.arange(half, dtype=x.dtype, device=x.device) / half)
    angles = positions.to(x.dtype)[:, None] * omega[None, :]
    sin, cos = torch.cat([angles.sin(), angles.sin()], dim=-1), torch.cat([angles.cos(), angles.cos()], dim=-1)
    pairs = x.unflatten(-1, (-1, 2))
    rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
    return x * cos + rotated * sin


class ACRoPEAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int, qkv_bias: bool, grid_size: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        # Upstream splits each head in three equal even parts (time, rows, columns); the rest is not rotated.
        self.axis_dim = 2 * ((self.head_dim // 3) // 2)
        self.grid_size = grid_size

    def _heads(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        qkv = self.qkv(tokens).unflatten(-1, (3, self.num_heads, -1)).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]

    def _rotate_axes(self, x: torch.Tensor, axes: list[torch.Tensor]) -> torch.Tensor:
        parts, start = [], 0
        for positions in axes:
            parts.append(rotate(x[..., start : start + self.axis_dim], positions))
            start += self.axis_dim
        return torch.cat([*parts, x[..., start:]], dim=-1)

    def forward(self, x: torch.Tensor, attend: torch.Tensor, frames: int, height: int, width: int, conditioning: int) -> torch.Tensor:
        batch, length, dim = x.shape
        per_frame = height * width
        x = x.reshape(batch, frames, conditioning + per_frame, dim)
        times = torch.arange(frames, device=x.device)
        # Conditioning tokens: rotated over time only, each kind on its own.
        conditioning_qkv = [self._heads(x[:, :, index]) for index in range(conditioning)]
        token_ids = torch.arange(frames * per_frame, device=x.device)
        frame_ids = token_ids // per_frame
        row_ids = (token_ids - frame_ids * per_frame) // width
        column_ids = token_ids - frame_ids * per_frame - row_ids * width
        scale_rows, scale_columns = self.grid_size / height, self.grid_size / width
        q, k, v = self._heads(x[:, :, conditioning:].flatten(1, 2))
        frame_axes = [frame_ids.float(), row_ids.float() * scale_rows, column_ids.float() * scale_columns]
        q, k = self._rotate_axes(q, frame_axes), self._rotate_axes(k, frame_axes)

        def interleave(frame_part: torch.Tensor, conditioning_parts: list[torch.Tensor]) -> torch.Tensor:
            shape = (batch, self.num_heads, frames, -1, self.head_dim)
            blocks = [part.reshape(shape) for part in conditioning_parts] + [frame_part.reshape(shape)]
            return torch.cat(blocks, dim=3).flatten(2, 3)

        q = interleave(q, [self._rotate_axes(qkv[0], [times.float()]) for qkv in conditioning_qkv])
        k = interleave(k, [self._rotate_axes(qkv[1], [times.float()]) for qkv in conditioning_qkv])
        v = interleave(v, [qkv[2] for qkv in conditioning_qkv])
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        weights = scores.masked_fill(~attend, float("-inf")).softmax(dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(batch, length, dim))


class MLP(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class ACBlock(nn.Module):
    def __init__(self, config: ACPredictorConfig) -> None:
        super().__init__()
        dim = config.predictor_embed_dim
        self.norm1 = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.attn = ACRoPEAttention(dim, config.num_heads, config.qkv_bias, config.grid_height)
        self.norm2 = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.mlp = MLP(dim, int(dim * config.mlp_ratio))

    def forward(self, x: torch.Tensor, attend: torch.Tensor, frames: int, height: int, width: int, conditioning: int) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), attend, frames, height, width, conditioning)
        return x + self.mlp(self.norm2(x))


class ACPredictor(nn.Module):
    """tokens (B, T*N, D), actions (B, T, A), states (B, T, A) -> predicted tokens (B, T*N, D)."""

    def __init__(self, config: ACPredictorConfig) -> None:
        super().__init__()
        self.config = config
        width = config.predictor_embed_dim
        self.predictor_embed = nn.Linear(config.embed_dim, width)
        self.action_encoder = nn.Linear(config.action_dim, width)
        self.state_encoder = nn.Linear(config.action_dim, width)
        # Upstream builds it whether or not extrinsics are used, and its checkpoints hold it.
        self.extrinsics_encoder = nn.Linear(config.action_dim - 1, width) if config.action_dim > 1 else None
        self.predictor_blocks = nn.ModuleList([ACBlock(config) for _ in range(config.depth)])
        self.predictor_norm = nn.LayerNorm(width, eps=config.layer_norm_eps)
        self.predictor_proj = nn.Linear(width, config.embed_dim)
        self._initialise()

    def _initialise(self) -> None:
        """Upstream's init: truncated normal 0.02, zero biases, residual projections scaled by depth."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
        with torch.no_grad():
            blocks = [block for block in self.predictor_blocks if isinstance(block, ACBlock)]
            for layer_id, block in enumerate(blocks, start=1):
                block.attn.proj.weight.div_(math.sqrt(2.0 * layer_id))
                block.mlp.fc2.weight.div_(math.sqrt(2.0 * layer_id))

    def forward(self, tokens: torch.Tensor, actions: torch.Tensor, states: torch.Tensor, extrinsics: torch.Tensor | None = None) -> torch.Tensor:
        config = self.config
        height, width, per_frame = config.grid_height, config.grid_width, config.tokens_per_frame
        x = self.predictor_embed(tokens)
        batch, _, dim = x.shape
        frames = actions.shape[1]
        conditioning_tokens = [self.action_encoder(actions), self.state_encoder(states)]
        if config.use_extrinsics:
            if extrinsics is None or self.extrinsics_encoder is None:
                raise ValueError("extrinsics: this predictor is conditioned on extrinsics; none given")
            conditioning_tokens.append(self.extrinsics_encoder(extrinsics))
        conditioning = len(conditioning_tokens)
        x = torch.cat([token.unsqueeze(2) for token in conditioning_tokens] + [x.reshape(batch, frames, per_frame, dim)], dim=2).flatten(1, 2)
        frame_of_token = torch.arange(x.shape[1], device=x.device) // (conditioning + per_frame)
        attend = frame_of_token[None, :] <= frame_of_token[:, None]
        for block in self.predictor_blocks:
            x = block(x, attend, frames, height, width, conditioning)
        x = x.reshape(batch, frames, conditioning + per_frame, dim)[:, :, conditioning:].flatten(1, 2)
        return self.predictor_proj(self.predictor_norm(x))


def config_from_official(state_dict: dict[str, torch.Tensor], grid_height: int, grid_width: int, num_heads: int = UPSTREAM_AC_HEADS) -> ACPredictorConfig:
    """Read an upstream predictor's shape off its weights; the grid and heads are not in them."""
    try:
        embed = state_dict["predictor_embed.weight"]
        action = state_dict["action_encoder.weight"]
        fc1 = state_dict["predictor_blocks.0.mlp.fc1.weight"]
    except KeyError as error:
        raise CheckpointError(f"not a V-JEPA 2-AC predictor: missing {error.args[0]}; it holds {listing(sorted(state_dict))}") from error
    depth = 1 + max(int(match.group(1)) for key in state_dict if (match := re.match(r"^predictor_blocks\.(\d+)\.", key)))
    width = embed.shape[0]
    return ACPredictorConfig(
        embed_dim=embed.shape[1], predictor_embed_dim=width, depth=depth, num_heads=num_heads, mlp_ratio=fc1.shape[0] / width,
        action_dim=action.shape[1], grid_height=grid_height, grid_width=grid_width, qkv_bias="predictor_blocks.0.attn.qkv.bias" in state_dict,
    )


def load_official_predictor(file: Path, grid_height: int, grid_width: int, num_heads: int = UPSTREAM_AC_HEADS) -> ACPredictor:
    """The `predictor` of an upstream V-JEPA 2-AC checkpoint (`vjepa2-ac-vitg.pt`), loaded strictly."""
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and EOF errors all mean "not a checkpoint we can read"
        raise CheckpointError(f"{file}: not a PyTorch checkpoint ({type(error).__name__}: {error})") from error
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("predictor"), dict):
        held = sorted(map(str, checkpoint)) if isinstance(checkpoint, dict) else [type(checkpoint).__name__]
        raise CheckpointError(f"{file}: no 'predictor' weights; the file holds {listing(held)}")
    state_dict = {strip_prefixes(key): tensor for key, tensor in checkpoint["predictor"].items()}
    try:
        config = config_from_official(state_dict, grid_height, grid_width, num_heads)
    except CheckpointError as error:
        raise CheckpointError(f"{file}: {error}") from error
    predictor = ACPredictor(config)
    expected = predictor.state_dict()
    missing, unexpected = [key for key in expected if key not in state_dict], [key for key in state_dict if key not in expected]
    wrong = [f"{key} {tuple(state_dict[key].shape)} vs {tuple(tensor.shape)}" for key, tensor in expected.items() if key in state_dict and state_dict[key].shape != tensor.shape]
    if missing or unexpected or wrong:
        raise CheckpointError(f"{file}: predictor does not fit a V-JEPA 2-AC predictor: missing {listing(missing)}, unexpected {listing(unexpected)}, wrong shapes {listing(wrong)}")
    predictor.load_state_dict(state_dict, strict=True)
    return predictor.eval()
