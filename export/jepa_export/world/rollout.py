"""Auto-regressive rollouts of the AC predictor and their energies: the offline reference that the
served `world_predictor` and `world_rollout` models are checked against (upstream
`notebooks/utils/world_model_wrapper.py::step_predictor` and `mpc_utils.py::cem`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from jepa_export.world.predictor import ACPredictor


def predict_next(predictor: ACPredictor, context_tokens: torch.Tensor, actions: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """(B, T*N, D), (B, T, A), (B, T, A) -> the frame after the last one, layer-normed: (B, N, D)."""
    config = predictor.config
    predicted = predictor(context_tokens, actions, states)[:, -config.tokens_per_frame :]
    return F.layer_norm(predicted, (config.embed_dim,))


def rollout(
    predictor: ACPredictor,
    observation_tokens: torch.Tensor,
    state: torch.Tensor,
    actions: torch.Tensor,
    state_low: torch.Tensor,
    state_high: torch.Tensor,
) -> torch.Tensor:
    """Predict `H` frames from one observation (B, N, D) and state (B, A) under actions (B, H, A).

    Each step feeds the whole history back (upstream has no cache). The state after an action is
    clip(state + action): the end effector's position moves by the commanded displacement.
    Returns (B, H, N, D).
    """
    tokens, states = observation_tokens, state[:, None]
    predicted = []
    for step in range(actions.shape[1]):
        next_tokens = predict_next(predictor, tokens, actions[:, : step + 1], states)
        predicted.append(next_tokens)
        tokens = torch.cat([tokens, next_tokens], dim=1)
        states = torch.cat([states, torch.clamp(states[:, -1:] + actions[:, step : step + 1], state_low, state_high)], dim=1)
    return torch.stack(predicted, dim=1)


def energies(predicted: torch.Tensor, goal_tokens: torch.Tensor) -> torch.Tensor:
    """(B, H, N, D) against a goal (B or 1, N, D) -> (B, H): mean |predicted - goal| (upstream `l1`)."""
    return (predicted - goal_tokens[:, None]).abs().mean(dim=(-2, -1))
