"""A toy world model behind a stand-in Triton: tokens move linearly with actions, so every rollout
has a closed form. For the planner's own logic (validation, CEM loop, deadlines, cancellation);
the served tiny world model is tested in test_plan_served.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from jepa_server.backends.triton import ServedModel
from jepa_server.core.embedding import Embedder
from jepa_server.core.planning import Planner
from jepa_server.core.registry import ModelRegistry
from jepa_server.media.video import prepare_video
from jepa_server.metrics import GatewayMetrics
from jepa_server.settings import Settings

SIDE, TOKENS, WIDTH, ACTIONS = 8, 4, 6, 2
WORLD_SPACE = "world-toy"
# Each action coordinate moves every token along one direction.
DIRECTIONS = np.random.default_rng(0).standard_normal((ACTIONS, WIDTH)).astype(np.float32)
COMMON = {
    "jepa.world_space": WORLD_SPACE, "jepa.action_dim": str(ACTIONS), "jepa.max_action": "0.5,0.5", "jepa.state_low": "0,0",
    "jepa.state_high": "1,1", "jepa.max_horizon": "4", "jepa.tokens": str(TOKENS), "jepa.token_dim": str(WIDTH),
}


def served_models(plan_defaults: str = '{"samples": 64, "horizon": 2, "iterations": 3, "top_k": 8}', roles: tuple[str, ...] = ("world_encoder", "world_rollout", "world_predictor")) -> dict[str, ServedModel]:
    encoder = ServedModel(
        "world_encoder", "1", "world_encoder", 8, {"pixel_values": [3, SIDE, SIDE]}, {"observation_tokens": [TOKENS, WIDTH]},
        {"jepa.role": "world_encoder", "jepa.crop_size": str(SIDE), "jepa.image_mean": "0.5,0.5,0.5", "jepa.image_std": "0.25,0.25,0.25", **COMMON},
    )
    rollout = ServedModel(
        "world_rollout", "1", "world_rollout", 0,
        {"observation_tokens": [1, TOKENS, WIDTH], "state": [1, ACTIONS], "goal_tokens": [1, TOKENS, WIDTH], "actions": [-1, -1, ACTIONS]},
        {"energies": [-1, -1]}, {"jepa.role": "world_rollout", "jepa.plan_defaults": plan_defaults, **COMMON},
    )
    predictor = ServedModel(
        "world_predictor", "1", "world_predictor", 16, {"context_tokens": [-1, WIDTH], "actions": [-1, ACTIONS], "states": [-1, ACTIONS]},
        {"next_tokens": [TOKENS, WIDTH]}, {"jepa.role": "world_predictor", **COMMON},
    )
    return {model.name: model for model in (encoder, rollout, predictor) if model.role in roles}


def encode(pixels: np.ndarray) -> np.ndarray:
    """(k, 3, S, S) -> (k, N, D): each token a pooled strip of the image, deterministic."""
    strips = pixels.mean(axis=1).reshape(len(pixels), TOKENS, -1)
    return strips[..., :WIDTH].astype(np.float32)


def rollout_energies(observation_tokens: np.ndarray, goal_tokens: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """(S, H) energies: after step h the tokens moved by the actions summed so far."""
    moved = observation_tokens[None, None] + (np.cumsum(actions, axis=1) @ DIRECTIONS)[:, :, None, :]
    return np.abs(moved - goal_tokens[None, None]).mean(axis=(2, 3)).astype(np.float32)


@dataclass
class ToyTriton:
    """Answers like the served world models would; records every call; `delay_s` per rollout call."""

    delay_s: float = 0.0
    calls: list[tuple[str, dict[str, tuple[int, ...]]]] = field(default_factory=list)

    async def infer(self, model: ServedModel, inputs: dict[str, np.ndarray], output_names: list[str], timeout_s: float | None = None) -> dict[str, np.ndarray]:
        self.calls.append((model.name, {name: array.shape for name, array in inputs.items()}))
        if model.role == "world_encoder":
            return {"observation_tokens": encode(inputs["pixel_values"])}
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if model.role == "world_rollout":
            return {"energies": rollout_energies(inputs["observation_tokens"][0], inputs["goal_tokens"][0], inputs["actions"])}
        context, actions = inputs["context_tokens"], inputs["actions"]
        return {"next_tokens": (context[:, -TOKENS:] + (actions[:, -1] @ DIRECTIONS)[:, None, :]).astype(np.float32)}

    def count(self, name: str) -> int:
        return sum(1 for called, _ in self.calls if called == name)


class InlinePreparer:
    """The gateway's preparation, run inline instead of in the decode pool."""

    async def prepare(self, *args):
        return prepare_video(*args)


def toy_planner(triton: ToyTriton | None = None, served: dict[str, ServedModel] | None = None, **settings) -> Planner:
    registry = ModelRegistry(served_models() if served is None else served, Path("."), token_bucket=16)
    embedder = Embedder(registry, triton or ToyTriton(), InlinePreparer(), GatewayMetrics(), Settings(**settings))  # type: ignore[arg-type]
    return Planner(embedder)


def image(seed: int, side: int = SIDE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)


def png(pixels: np.ndarray) -> bytes:
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = pixels.shape[1], pixels.shape[0], "rgb24"
    packets = encoder.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)
