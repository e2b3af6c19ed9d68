"""The exported world model, served by a real Triton, computes what the PyTorch reference does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from jepa_export.world.export import rendered_observations
from jepa_export.world.model import load_world_model
from jepa_export.world.rollout import energies, predict_next, rollout


def _infer(triton, model: str, inputs: dict[str, np.ndarray], output: str) -> np.ndarray:
    import tritonclient.grpc as triton_grpc

    client = triton_grpc.InferenceServerClient(triton.grpc_url)
    tensors = []
    for name, array in inputs.items():
        tensor = triton_grpc.InferInput(name, list(array.shape), "FP32")
        tensor.set_data_from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        tensors.append(tensor)
    return client.infer(model, tensors).as_numpy(output)


@pytest.fixture(scope="module")
def world(world_checkpoint: Path):
    return load_world_model(world_checkpoint)


@pytest.fixture(scope="module")
def scene(world):
    """Two observations (the current one and a goal), a state, and 24 action sequences of 4 steps."""
    torch.manual_seed(3)
    pixels = rendered_observations(world, 2)
    with torch.no_grad():
        tokens = world.encoder(pixels)
    max_action = torch.tensor(world.config.actions.max_action)
    actions = (torch.rand(24, 4, 2) * 2 - 1) * max_action
    return pixels, tokens, torch.tensor([[0.3, 0.95]]), actions


def test_export_report_verifies_every_world_model(world_export):
    report = world_export[1]
    assert {model.name for model in report.models} == {"world_encoder", "world_predictor"}
    assert report.passed


def test_served_encoder_matches_pytorch(world_triton, scene):
    pixels, tokens, _, _ = scene
    served = _infer(world_triton, "world_encoder", {"pixel_values": pixels.numpy()}, "observation_tokens")
    np.testing.assert_allclose(served, tokens.numpy(), rtol=1e-4, atol=1e-4)


def test_served_predictor_step_matches_pytorch_at_every_history_length(world_triton, world, scene):
    _, tokens, state, actions = scene
    for frames in (1, 3):
        context = tokens[:1].repeat(5, frames, 1)
        states = state.repeat(5, frames, 1)
        with torch.no_grad():
            expected = predict_next(world.predictor, context, actions[:5, :frames], states)
        served = _infer(world_triton, "world_predictor", {"context_tokens": context.numpy(), "actions": actions[:5, :frames].numpy(), "states": states.numpy()}, "next_tokens")
        np.testing.assert_allclose(served, expected.numpy(), rtol=1e-4, atol=1e-5)


def test_served_rollout_energies_equal_offline_pytorch_within_1e_4_relative(world_triton, world, scene):
    _, tokens, state, actions = scene
    observation, goal = tokens[:1], tokens[1:]
    bounds = torch.tensor(world.config.actions.state_low), torch.tensor(world.config.actions.state_high)
    with torch.no_grad():
        expected = energies(rollout(world.predictor, observation.repeat(len(actions), 1, 1), state.repeat(len(actions), 1), actions, *bounds), goal)
    served = _infer(
        world_triton, "world_rollout",
        {"observation_tokens": observation.numpy(), "state": state.numpy(), "goal_tokens": goal.numpy(), "actions": actions.numpy()},
        "energies",
    )
    assert served.shape == (24, 4)
    np.testing.assert_allclose(served, expected.numpy(), rtol=1e-4)
    # The state box matters: the state starts at the upper edge of y and actions push past it.
    assert np.ptp(served[:, -1]) > 0


def _parameters(repository: Path, model: str) -> dict[str, str]:
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    config = text_format.Parse((repository / model / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    return {key: value.string_value for key, value in config.parameters.items()} | {"max_batch_size": str(config.max_batch_size)}


def test_rollout_model_carries_what_the_gateway_needs(world_repository: Path):
    rollout_parameters = _parameters(world_repository, "world_rollout")
    assert rollout_parameters["max_batch_size"] == "0"  # one request = one planning iteration, never merged
    assert rollout_parameters["jepa.max_action"] == "0.1,0.1" and rollout_parameters["jepa.max_horizon"] == "6"
    assert json.loads(rollout_parameters["jepa.plan_defaults"])["samples"] == 32
    spaces = {_parameters(world_repository, model)["jepa.world_space"] for model in ("world_encoder", "world_predictor", "world_rollout")}
    assert len(spaces) == 1
