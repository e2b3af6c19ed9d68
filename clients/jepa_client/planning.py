"""What the PlanService methods send and return (`Plan`, `PlanStream`): options, observations and
goals in, frozen records with numpy arrays out. protos/jepa/v1/planning.proto says what each field
means; the shapes are N tokens x D values, A action values, H steps."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from jepa_client.convert import frames_message
from jepa_client.v1 import planning_pb2

# A file path (its bytes are sent), encoded bytes (PNG, JPEG...), or uint8 RGB pixels (H, W, 3).
ImageInput = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray]


@dataclass(frozen=True)
class PlanOptions:
    """The CEM search; 0 / None take the server's defaults (the model's recommendation)."""

    horizon: int = 0
    samples: int = 0
    iterations: int = 0
    top_k: int = 0
    init_std: float = 0.0
    momentum_mean: float | None = None
    momentum_std: float | None = None
    seed: int | None = None


@dataclass(frozen=True, eq=False)
class Observation:
    """What the robot sees, and its end effector's position (A values)."""

    image: ImageInput
    state: np.ndarray | tuple[float, ...] | list[float]


@dataclass(frozen=True, eq=False)
class GoalEmbedding:
    """A goal image's tokens (N, D) in a world space, as a plan returns them: pass one as `goal`
    to skip encoding the image again."""

    values: np.ndarray
    world_space: str


@dataclass(frozen=True)
class WorldModelInfo:
    name: str
    version: str
    world_space: str
    action_dim: int
    tokens: int
    token_dim: int
    max_horizon: int
    max_action: tuple[float, ...]
    # "triton" (world_rollout) or "gateway" (the gateway drove world_predictor).
    rollout: str


@dataclass(frozen=True)
class PlanIteration:
    """One finished CEM iteration: its best and elite-mean energies at the last step."""

    index: int
    best_energy: float
    elite_mean_energy: float
    rollouts: int


@dataclass(frozen=True, eq=False)
class Plan:
    """The planned actions (H, A) and their predicted energies (H,), one per step."""

    actions: np.ndarray
    energies: np.ndarray
    goal_embedding: GoalEmbedding | None
    model: WorldModelInfo
    planning_ms: float
    rollouts: int
    settings: PlanOptions


@dataclass(frozen=True, eq=False)
class PlanStep:
    """One decision of closed-loop MPC: execute `action` (A,), then send the next observation."""

    step: int
    action: np.ndarray
    plan: np.ndarray
    energies: np.ndarray
    iteration_best_energies: tuple[float, ...]
    rollouts: int
    planning_ms: float
    # First step only.
    model: WorldModelInfo | None
    goal_embedding: GoalEmbedding | None


def image_message(image: ImageInput, field: str) -> planning_pb2.Image:
    if isinstance(image, np.ndarray):
        if image.ndim != 3:
            raise ValueError(f"{field}: got shape {image.shape}, need (H, W, 3) uint8")
        return planning_pb2.Image(frames=frames_message(image[None]))
    if isinstance(image, (str, os.PathLike)):
        return planning_pb2.Image(encoded=Path(image).read_bytes())
    if not image:
        raise ValueError(f"{field}: empty image bytes")
    return planning_pb2.Image(encoded=bytes(image))


def observation_message(observation: Observation) -> planning_pb2.Observation:
    state = np.asarray(observation.state, dtype=np.float32).reshape(-1)
    return planning_pb2.Observation(image=image_message(observation.image, "observation"), state=state.tolist())


def goal_message(goal: ImageInput | GoalEmbedding) -> planning_pb2.Goal:
    if isinstance(goal, GoalEmbedding):
        values = np.asarray(goal.values, dtype=np.float32).ravel().tolist()
        return planning_pb2.Goal(embedding=planning_pb2.GoalEmbedding(values=values, world_space=goal.world_space))
    return planning_pb2.Goal(image=image_message(goal, "goal"))


def settings_message(options: PlanOptions) -> planning_pb2.PlanSettings:
    for name in ("horizon", "samples", "iterations", "top_k", "init_std"):
        if getattr(options, name) < 0:
            raise ValueError(f"{name}: got {getattr(options, name)}, need >= 0 (0 = server default)")
    return planning_pb2.PlanSettings(
        horizon=options.horizon, samples=options.samples, iterations=options.iterations, top_k=options.top_k, init_std=options.init_std,
        momentum_mean=options.momentum_mean, momentum_std=options.momentum_std, seed=options.seed,
    )


def plan_request(observation: Observation, goal: ImageInput | GoalEmbedding, options: PlanOptions | None = None, model: str = "") -> planning_pb2.PlanRequest:
    return planning_pb2.PlanRequest(
        observation=observation_message(observation), goal=goal_message(goal), settings=settings_message(options or PlanOptions()), model=model
    )


def _stream_request(position: int, observation: Observation, goal: ImageInput | GoalEmbedding, options: PlanOptions | None, model: str) -> planning_pb2.PlanStreamRequest:
    """The first message carries the goal, the settings and the model; every one an observation."""
    if position:
        return planning_pb2.PlanStreamRequest(observation=observation_message(observation))
    return planning_pb2.PlanStreamRequest(
        goal=goal_message(goal), settings=settings_message(options or PlanOptions()), model=model, observation=observation_message(observation)
    )


def stream_requests(observations: Iterable[Observation], goal: ImageInput | GoalEmbedding, options: PlanOptions | None = None, model: str = "") -> Iterator[planning_pb2.PlanStreamRequest]:
    for position, observation in enumerate(observations):
        yield _stream_request(position, observation, goal, options, model)


async def async_stream_requests(
    observations: AsyncIterable[Observation] | Iterable[Observation], goal: ImageInput | GoalEmbedding, options: PlanOptions | None = None, model: str = ""
) -> AsyncIterator[planning_pb2.PlanStreamRequest]:
    if not isinstance(observations, AsyncIterable):
        for request in stream_requests(observations, goal, options, model):
            yield request
        return
    position = 0
    async for observation in observations:
        yield _stream_request(position, observation, goal, options, model)
        position += 1


def _world(message: planning_pb2.WorldModelInfo) -> WorldModelInfo:
    return WorldModelInfo(
        name=message.name, version=message.version, world_space=message.world_space, action_dim=message.action_dim, tokens=message.tokens,
        token_dim=message.token_dim, max_horizon=message.max_horizon, max_action=tuple(message.max_action), rollout=message.rollout,
    )


def _goal_embedding(message: planning_pb2.GoalEmbedding, model: planning_pb2.WorldModelInfo) -> GoalEmbedding | None:
    if not message.values:
        return None
    return GoalEmbedding(np.asarray(message.values, dtype=np.float32).reshape(model.tokens, model.token_dim), message.world_space)


def _options(message: planning_pb2.PlanSettings) -> PlanOptions:
    return PlanOptions(
        horizon=message.horizon, samples=message.samples, iterations=message.iterations, top_k=message.top_k, init_std=message.init_std,
        momentum_mean=message.momentum_mean, momentum_std=message.momentum_std, seed=message.seed if message.HasField("seed") else None,
    )


def plan_event(message: planning_pb2.PlanEvent) -> PlanIteration | Plan:
    if message.WhichOneof("event") == "iteration":
        iteration = message.iteration
        return PlanIteration(iteration.index, iteration.best_energy, iteration.elite_mean_energy, iteration.rollouts)
    result = message.result
    return Plan(
        actions=np.asarray(result.actions, dtype=np.float32).reshape(result.horizon, result.action_dim),
        energies=np.asarray(result.energies, dtype=np.float32),
        goal_embedding=_goal_embedding(result.goal_embedding, result.model),
        model=_world(result.model),
        planning_ms=result.planning_ms,
        rollouts=result.rollouts,
        settings=_options(result.settings),
    )


def plan_step(message: planning_pb2.PlanStreamResponse) -> PlanStep:
    action = np.asarray(message.action, dtype=np.float32)
    first = message.HasField("model")
    return PlanStep(
        step=message.step,
        action=action,
        plan=np.asarray(message.plan, dtype=np.float32).reshape(-1, max(action.size, 1)),
        energies=np.asarray(message.energies, dtype=np.float32),
        iteration_best_energies=tuple(message.iteration_best_energies),
        rollouts=message.rollouts,
        planning_ms=message.planning_ms,
        model=_world(message.model) if first else None,
        goal_embedding=_goal_embedding(message.goal_embedding, message.model) if first else None,
    )
