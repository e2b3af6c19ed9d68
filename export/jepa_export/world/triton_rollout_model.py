"""Triton python-backend model `world_rollout`: one planning iteration in one request.

Inputs: the current observation's tokens (1, N, D) and state (1, A), the goal's tokens (1, N, D),
and S candidate action sequences (S, H, A). The predictor graph of this version folder
(`world_predictor`'s fp32 ONNX) runs H times over all S sequences at once, each step feeding the
whole predicted history back (upstream has no cache), the state moving by clip(state + action).
Output: the L1 energy of every predicted frame against the goal, (S, H).

Runs the graph with the runtime code of `triton_python_model.py`, copied beside it as
`runtime_model.py` by the export, so both served kinds share one runtime setup.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np


def _runtime_module():
    spec = importlib.util.spec_from_file_location("jepa_runtime_model", Path(__file__).with_name("runtime_model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _floats(text):
    return np.array([float(value) for value in text.split(",")], dtype=np.float32)


def rollout_energies(runtime, observation_tokens, state, goal_tokens, actions, state_low, state_high):
    """(S, H) energies of S action sequences: the loop `jepa_export.world.rollout` defines."""
    samples, horizon, _ = actions.shape
    tokens = np.repeat(observation_tokens, samples, axis=0)
    states = np.repeat(state[:, None], samples, axis=0)
    energies = np.empty((samples, horizon), dtype=np.float32)
    for step in range(horizon):
        feeds = {"context_tokens": tokens, "actions": np.ascontiguousarray(actions[:, : step + 1]), "states": states}
        next_tokens = runtime.run(["next_tokens"], feeds)[0]
        energies[:, step] = np.abs(next_tokens - goal_tokens).mean(axis=(1, 2))
        tokens = np.concatenate([tokens, next_tokens], axis=1)
        states = np.concatenate([states, np.clip(states[:, -1:] + actions[:, step : step + 1], state_low, state_high)], axis=1)
    return energies


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        parameters = {key: value["string_value"] for key, value in model_config.get("parameters", {}).items()}
        self.runtime = _runtime_module().load_runtime(Path(args["model_repository"]) / args["model_version"], parameters)
        self.state_low, self.state_high = _floats(parameters["jepa.state_low"]), _floats(parameters["jepa.state_high"])

    def execute(self, requests):
        import triton_python_backend_utils as pb_utils

        responses = []
        for request in requests:
            try:
                tensors = {name: pb_utils.get_input_tensor_by_name(request, name).as_numpy() for name in ("observation_tokens", "state", "goal_tokens", "actions")}
                energies = rollout_energies(
                    self.runtime, tensors["observation_tokens"], tensors["state"], tensors["goal_tokens"],
                    tensors["actions"].astype(np.float32), self.state_low, self.state_high,
                )
                responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("energies", energies)]))
            except Exception as error:  # one bad request must not take the model down
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{type(error).__name__}: {error}")))
        return responses
