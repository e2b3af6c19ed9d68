"""V-JEPA's 3-D rotary embedding as two tables and one signed permutation.

Upstream rotates three slices of every query and key head (frame, row and column positions),
recomputing the angles each layer and rotating by unbind/stack/flatten: about thirty small ONNX
nodes per attention, which cost as much as a tenth of a clip on a CPU and more once the matrix
products are int8. The same rotation is `x * cos + (x @ R) * sin`, with `cos` and `sin` tables
over (token, channel) computed from the positions (channels past the three slices get cos 1,
sin 0) and `R` the pair swap with a sign (y[2i] = -x[2i+1], y[2i+1] = x[2i]).

Two variants of the arithmetic exist upstream, and `RotarySpec` names them: V-JEPA 2 (what
transformers' `VJEPA2Model` computes) tiles each slice's angles ([f0..fn, f0..fn]); V-JEPA 2.1
interleaves them ([f0, f0, f1, f1, ...]) and rescales row and column positions to the grid it
was trained on (`interpolate_rope`). `install_rotary` makes a loaded model compute 2.1's;
`tabulated_rope` turns whichever a model computes into constant tables while it is exported.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch
from pydantic import BaseModel

if TYPE_CHECKING:
    from transformers.models.vjepa2.modeling_vjepa2 import VJEPA2RopeAttention

_ATTENTION_CLASS = "VJEPA2RopeAttention"


class RotarySpec(BaseModel):
    """How positions become angles. Defaults: V-JEPA 2 as transformers computes it."""

    interleaved: bool = False
    # Row and column positions are multiplied by these (2.1: (trained grid - 1) / (grid - 1)).
    height_scale: float = 1.0
    width_scale: float = 1.0


def _angles(positions: torch.Tensor, channels: int, interleaved: bool) -> torch.Tensor:
    """Upstream's `rotate_queries_or_keys` angles for one slice: (tokens, channels)."""
    omega = torch.arange(channels // 2, dtype=torch.float32)
    omega /= channels / 2.0
    omega = 1.0 / 10000**omega
    frequencies = positions.to(torch.float32).unsqueeze(-1) * omega
    return frequencies.repeat_interleave(2, dim=-1) if interleaved else frequencies.repeat(1, 2)


def rope_tables(attention: VJEPA2RopeAttention, tokens: int, spec: RotarySpec) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(cos, sin) of shape (tokens, head_dim) and the (head_dim, head_dim) signed pair swap."""
    head_dim = attention.attention_head_size
    frame_ids, height_ids, width_ids = attention.get_position_ids(torch.zeros(1, tokens, 1))
    slices = (
        (frame_ids.to(torch.float32), attention.d_dim),
        (height_ids * spec.height_scale, attention.h_dim),
        (width_ids * spec.width_scale, attention.w_dim),
    )
    cos, sin = torch.ones(tokens, head_dim), torch.zeros(tokens, head_dim)
    swap = torch.zeros(head_dim, head_dim)
    start = 0
    for positions, channels in slices:
        angles = _angles(positions, channels, spec.interleaved)
        cos[:, start : start + channels], sin[:, start : start + channels] = angles.cos(), angles.sin()
        for pair in range(start, start + channels, 2):
            swap[pair + 1, pair], swap[pair, pair + 1] = -1.0, 1.0
        start += channels
    return cos, sin, swap


def _rotary_attentions(module: torch.nn.Module) -> list[Any]:
    """transformers' rotary attentions, found by class name; `Any` because we give them attributes of our own."""
    return [submodule for submodule in module.modules() if type(submodule).__name__ == _ATTENTION_CLASS]


def _computed(self: Any, qk: torch.Tensor, pos_ids: object) -> torch.Tensor:
    cos, sin, swap = rope_tables(self, qk.shape[-2], self.rotary_spec)
    return qk * cos.to(qk.dtype) + (qk @ swap.to(qk.dtype)) * sin.to(qk.dtype)


def _tabulated(self: Any, qk: torch.Tensor, pos_ids: object) -> torch.Tensor:
    tokens = qk.shape[-2]
    return qk * self.rope_cos[:tokens] + (qk @ self.rope_swap) * self.rope_sin[:tokens]


def install_rotary(model: torch.nn.Module, spec: RotarySpec) -> None:
    """Every rotary attention of `model` rotates by `spec` from now on (a V-JEPA 2.1 encoder)."""
    for attention in _rotary_attentions(model):
        attention.rotary_spec = spec
        attention.apply_rotary_embeddings = types.MethodType(_computed, attention)


@contextlib.contextmanager
def tabulated_rope(module: torch.nn.Module, max_tokens: int) -> Iterator[None]:
    """Every rotary attention inside `module` rotates by constant tables (its own spec's) while
    the context is open, then computes as before."""
    patched = []
    for attention in _rotary_attentions(module):
        cos, sin, swap = rope_tables(attention, max_tokens, getattr(attention, "rotary_spec", RotarySpec()))
        attention.register_buffer("rope_cos", cos, persistent=False)
        attention.register_buffer("rope_sin", sin, persistent=False)
        attention.register_buffer("rope_swap", swap, persistent=False)
        previous = attention.__dict__.get("apply_rotary_embeddings")
        attention.apply_rotary_embeddings = types.MethodType(_tabulated, attention)
        patched.append((attention, previous))
    try:
        yield
    finally:
        for attention, previous in patched:
            if previous is None:
                del attention.apply_rotary_embeddings
            else:
                attention.apply_rotary_embeddings = previous
            for name in ("rope_cos", "rope_sin", "rope_swap"):
                delattr(attention, name)
