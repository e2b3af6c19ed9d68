"""V-JEPA-style self-supervised pre-training of the X-encoder (the paper's first stage, at toy scale).

Spatial blocks are masked across all frames (tubes); the online encoder sees the clip with those
tubes blanked, the V-JEPA 2 predictor inside `VJEPA2Model` predicts their tokens, and the target is
the layer-normed output of an EMA copy of the encoder on the full clip (L1 loss).
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from transformers.models.vjepa2.modeling_vjepa2 import apply_masks

from jepa_export.checkpoints import patch_side
from jepa_export.vljepa.parts import XEncoder


def tube_masks(
    batch_size: int, frames: int, grid: int, mask_ratio: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(context token ids (B, Nc), target token ids (B, Nt), spatial mask (B, grid, grid) True = masked).

    One square block of `grid * sqrt(mask_ratio)` patches per clip, the same for every time step.
    """
    block = max(1, min(grid - 1, round(grid * math.sqrt(mask_ratio))))
    corners = torch.randint(0, grid - block + 1, (batch_size, 2), generator=generator)
    rows = torch.arange(grid)
    inside_rows = (rows[None, :] >= corners[:, :1]) & (rows[None, :] < corners[:, :1] + block)
    inside_cols = (rows[None, :] >= corners[:, 1:]) & (rows[None, :] < corners[:, 1:] + block)
    spatial = inside_rows[:, :, None] & inside_cols[:, None, :]
    tokens = spatial.reshape(batch_size, 1, grid * grid).expand(-1, frames, -1).reshape(batch_size, -1)
    order = torch.argsort(tokens.to(torch.int8), dim=1, stable=True)
    num_target = int(tokens[0].sum())
    return order[:, : tokens.shape[1] - num_target], order[:, tokens.shape[1] - num_target :], spatial


class EncoderPretraining:
    """Holds the EMA target encoder; `step(pixels)` returns the loss to back-propagate."""

    def __init__(self, x_encoder: XEncoder, mask_ratio: float, momentum: tuple[float, float], total_steps: int):
        self.x_encoder = x_encoder
        self.target_encoder = copy.deepcopy(x_encoder.vjepa2.encoder).requires_grad_(False).eval()
        self.mask_ratio = mask_ratio
        self.momentum = momentum
        self.total_steps = total_steps
        config = x_encoder.vjepa2.config
        self.grid = config.crop_size // patch_side(config)
        self.patch = patch_side(config)
        self.time_tokens = config.frames_per_clip // config.tubelet_size

    def loss(self, pixel_values_videos: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch = pixel_values_videos.shape[0]
        context, target, spatial = tube_masks(batch, self.time_tokens, self.grid, self.mask_ratio, generator)
        pixel_mask = spatial.repeat_interleave(self.patch, 1).repeat_interleave(self.patch, 2)
        blanked = pixel_values_videos.masked_fill(pixel_mask[:, None, None], 0.0)
        output = self.x_encoder.vjepa2(blanked, context_mask=[context], target_mask=[target])
        with torch.no_grad():
            target_tokens = self.target_encoder(pixel_values_videos=pixel_values_videos).last_hidden_state
            target_tokens = F.layer_norm(target_tokens, target_tokens.shape[-1:])
        return F.l1_loss(output.predictor_output.last_hidden_state, apply_masks(target_tokens, [target]))

    @torch.no_grad()
    def update_target(self, step: int) -> None:
        start, end = self.momentum
        momentum = end - (end - start) * (1 + math.cos(math.pi * step / self.total_steps)) / 2
        for online, target in zip(self.x_encoder.vjepa2.encoder.parameters(), self.target_encoder.parameters()):
            target.mul_(momentum).add_(online.detach(), alpha=1 - momentum)
