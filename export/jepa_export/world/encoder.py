"""One observation image -> the frame tokens the AC predictor reads and predicts.

Upstream's `WorldModel.encode` repeats an image to fill one tubelet (2 frames), encodes it with
the frozen V-JEPA 2 encoder and layer-normalises the tokens (`normalize_reps`). We also
average-pool the patch grid by `pool`: a coarser grid makes every rollout cheaper, which matters
when planning runs thousands of them per action on a CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import VJEPA2Model

from jepa_export.checkpoints import patch_side


class ObservationEncoder(nn.Module):
    """pixel_values (B, 3, S, S), ImageNet-normalised -> observation_tokens (B, N, D), layer-normed."""

    input_names = ("pixel_values",)
    output_names = ("observation_tokens",)

    def __init__(self, vjepa2: VJEPA2Model, pool: int = 1) -> None:
        super().__init__()
        self.vjepa2 = vjepa2
        config = vjepa2.config
        self.tubelet_size = int(config.tubelet_size)
        self.grid_side = int(config.crop_size) // patch_side(config)
        if pool < 1 or self.grid_side % pool:
            raise ValueError(f"pool: got {pool}, must divide the encoder's {self.grid_side}x{self.grid_side} patch grid")
        self.pool = pool
        self.width = int(config.hidden_size)

    @property
    def pooled_side(self) -> int:
        return self.grid_side // self.pool

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        clip = pixel_values.unsqueeze(1).expand(-1, self.tubelet_size, -1, -1, -1)
        tokens = self.vjepa2.get_vision_features(clip)
        if self.pool > 1:
            grid = tokens.transpose(1, 2).reshape(-1, self.width, self.grid_side, self.grid_side)
            tokens = F.avg_pool2d(grid, self.pool).flatten(2).transpose(1, 2)
        return F.layer_norm(tokens, (self.width,))
