"""V-JEPA 2's 3-D rotary embedding as two constant tables and one signed permutation, for export.

Upstream rotates three slices of every query and key head (frame, row and column positions),
recomputing the angles each layer and rotating by unbind/stack/flatten: about thirty small ONNX
nodes per attention, which cost as much as a tenth of a clip on a CPU and more once the matrix
products are int8. The same rotation is `x * cos + (x @ R) * sin`, with `cos` and `sin` tables
over (token, channel) computed once from the positions (channels past the three slices get
cos 1, sin 0) and `R` the pair swap with a sign (y[2i] = -x[2i+1], y[2i+1] = x[2i]): four nodes.
The tables follow upstream's arithmetic exactly, including its tiling of each slice's angles;
the exported graph is verified against the untouched PyTorch module like any artifact.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator

import torch


def _angles(positions: torch.Tensor, channels: int) -> torch.Tensor:
    """Upstream's `rotate_queries_or_keys` angles for one slice: (tokens, channels), each half tiled."""
    omega = torch.arange(channels // 2, dtype=torch.float32)
    omega /= channels / 2.0
    omega = 1.0 / 10000**omega
    return (positions.to(torch.float32).unsqueeze(-1) * omega).repeat(1, 2)


def rope_tables(attention: torch.nn.Module, tokens: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(cos, sin) of shape (tokens, head_dim) and the (head_dim, head_dim) signed pair swap."""
    head_dim = attention.attention_head_size
    frame_ids, height_ids, width_ids = attention.get_position_ids(torch.zeros(1, tokens, 1))
    cos, sin = torch.ones(tokens, head_dim), torch.zeros(tokens, head_dim)
    swap = torch.zeros(head_dim, head_dim)
    start = 0
    for positions, channels in ((frame_ids, attention.d_dim), (height_ids, attention.h_dim), (width_ids, attention.w_dim)):
        angles = _angles(positions, channels)
        cos[:, start : start + channels], sin[:, start : start + channels] = angles.cos(), angles.sin()
        for pair in range(start, start + channels, 2):
            swap[pair + 1, pair], swap[pair, pair + 1] = -1.0, 1.0
        start += channels
    return cos, sin, swap


def _tabulated(self: torch.nn.Module, qk: torch.Tensor, pos_ids: object) -> torch.Tensor:
    tokens = qk.shape[-2]
    return qk * self.rope_cos[:tokens] + (qk @ self.rope_swap) * self.rope_sin[:tokens]


@contextlib.contextmanager
def tabulated_rope(module: torch.nn.Module, max_tokens: int) -> Iterator[None]:
    """Every V-JEPA 2 rotary attention inside `module` rotates by tables while the context is open."""
    patched = []
    for submodule in module.modules():
        if type(submodule).__name__ == "VJEPA2RopeAttention":
            cos, sin, swap = rope_tables(submodule, max_tokens)
            submodule.register_buffer("rope_cos", cos, persistent=False)
            submodule.register_buffer("rope_sin", sin, persistent=False)
            submodule.register_buffer("rope_swap", swap, persistent=False)
            submodule.apply_rotary_embeddings = types.MethodType(_tabulated, submodule)
            patched.append(submodule)
    try:
        yield
    finally:
        for submodule in patched:
            del submodule.apply_rotary_embeddings
            for name in ("rope_cos", "rope_sin", "rope_swap"):
                delattr(submodule, name)
