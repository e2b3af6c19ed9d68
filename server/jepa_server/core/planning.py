"""Plan: the cross-entropy method over a served world model's rollouts (docs/world-model.md).

CEM runs here (`core/cem.py`, the code the offline evaluation runs too); every iteration's samples
go to Triton as one batched call: one `world_rollout` request (the horizon loop inside Triton), or,
with `plan_rollout` "gateway", one `world_predictor` request per horizon step over all samples. CEM
ranks samples by the energy of the last step (upstream). Observation and goal images are encoded
in one `world_encoder` call. The deadline is checked before every inference call, and a cancelled
call makes no further ones (the in-flight call is cancelled with the task awaiting it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, ValidationError

from jepa_server.core.cem import CEMSettings, CrossEntropyMethod
from jepa_server.core.embedding import Embedder
from jepa_server.core.registry import WorldModel
from jepa_server.errors import DeadlineExceeded, FailedPrecondition, InvalidInput, LimitExceeded
from jepa_server.media.video import EncodedImage, RawFrames, SamplingPlan

__all__ = ["Decision", "EncodedImage", "Goal", "GoalEmbedding", "ImageSource", "IterationEvent", "Observation", "PlanResult", "Planner", "RawFrames", "RequestedSettings"]

ImageSource = RawFrames | EncodedImage
RolloutMode = Literal["triton", "gateway"]
_ONE_IMAGE = SamplingPlan(frames_per_clip=1, max_windows=1)


@dataclass(frozen=True, eq=False)
class Observation:
    image: ImageSource
    state: np.ndarray  # (A,) the end effector's position


@dataclass(frozen=True, eq=False)
class GoalEmbedding:
    """Goal tokens sent back by a client (a PlanResult's `goal_tokens`): N*D values."""

    values: np.ndarray
    world_space: str


Goal = ImageSource | GoalEmbedding


class RequestedSettings(BaseModel):
    """A request's CEM settings; None takes the model's recommendation (jepa.plan_defaults), else
    CEMSettings' default."""

    horizon: int | None = None
    samples: int | None = None
    iterations: int | None = None
    top_k: int | None = None
    init_std: float | None = None
    momentum_mean: float | None = None
    momentum_std: float | None = None
    seed: int | None = None


@dataclass(frozen=True)
class IterationEvent:
    iteration: int  # 1-based
    best_energy: float
    elite_mean_energy: float
    rollouts: int  # action sequences rolled out in this plan so far


@dataclass(frozen=True, eq=False)
class PlanResult:
    world: WorldModel
    rollout: RolloutMode
    settings: CEMSettings
    actions: np.ndarray  # (H, A) the CEM mean, within the action bound
    energies: np.ndarray  # (H,) of `actions`, from one rollout
    goal_tokens: np.ndarray  # (N, D)
    goal_from_image: bool
    planning_ms: float
    rollouts: int

    @property
    def returned_goal(self) -> GoalEmbedding | None:
        """The goal's tokens for the caller, when they came from an image (one that sent tokens has them)."""
        return GoalEmbedding(self.goal_tokens, self.world.world_space) if self.goal_from_image else None


@dataclass(frozen=True, eq=False)
class Decision:
    """One closed-loop step of PlanStream: the plan for one observation and the iterations behind it."""

    step: int
    iterations: list[IterationEvent]
    result: PlanResult


class _Deadline:
    def __init__(self, timeout_s: float | None, cancelled: Callable[[], bool]) -> None:
        self.at = None if timeout_s is None else time.monotonic() + timeout_s
        self.cancelled = cancelled

    def remaining(self, before: str) -> float | None:
        """Seconds left for the next inference call, refused when none are or the caller has gone."""
        if self.cancelled():
            raise asyncio.CancelledError(f"the caller cancelled {before}")
        if self.at is None:
            return None
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("deadline", f"the call's deadline passed {before}")
        return left


@dataclass(frozen=True)
class _Search:
    """What one call plans with: the world model, its settings, where rollouts run, its deadline."""

    world: WorldModel
    settings: CEMSettings
    rollout: RolloutMode
    deadline: _Deadline
    started: float


def _never() -> bool:
    return False


class Planner:
    """Plans over the world models of the embedder's registry (replaced when Triton's models are re-read)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.backend = embedder.backend
        self.metrics = embedder.metrics
        self.settings = embedder.settings

    async def plan(
        self,
        observation: Observation,
        goal: Goal,
        requested: RequestedSettings,
        model: str = "",
        timeout_s: float | None = None,
        cancelled: Callable[[], bool] = _never,
    ) -> AsyncIterator[IterationEvent | PlanResult]:
        """One event per CEM iteration, then the result."""
        search = self._search(requested, model, timeout_s, cancelled)
        state = self._state(observation.state, search.world, "observation.state")
        goal_tokens, observation_tokens = await self._encode(search, observation.image, goal)
        cem = CrossEntropyMethod(search.settings, search.world.max_action)
        async for event in self._run(search, cem, observation_tokens, state, goal_tokens, not isinstance(goal, GoalEmbedding)):
            yield event

    async def plan_stream(
        self,
        goal: Goal,
        requested: RequestedSettings,
        observations: AsyncIterator[Observation],
        model: str = "",
        timeout_s: float | None = None,
        cancelled: Callable[[], bool] = _never,
    ) -> AsyncIterator[Decision]:
        """Closed-loop MPC: one decision per observation, each CEM warm-started from the last plan shifted by one step."""
        search = self._search(requested, model, timeout_s, cancelled)
        goal_tokens: np.ndarray | None = None
        initial_mean: np.ndarray | None = None
        step = 0
        async for observation in observations:
            started = time.perf_counter()
            state = self._state(observation.state, search.world, "observation.state")
            goal_tokens, observation_tokens = await self._encode(search, observation.image, goal if goal_tokens is None else GoalEmbedding(goal_tokens, search.world.world_space))
            seed = None if search.settings.seed is None else search.settings.seed + step
            cem = CrossEntropyMethod(search.settings.model_copy(update={"seed": seed}), search.world.max_action, initial_mean)
            iterations: list[IterationEvent] = []
            async for event in self._run(replace(search, started=started), cem, observation_tokens, state, goal_tokens, not isinstance(goal, GoalEmbedding)):
                if isinstance(event, PlanResult):
                    yield Decision(step, iterations, event)
                else:
                    iterations.append(event)
            initial_mean = cem.warm_start()
            step += 1

    def _search(self, requested: RequestedSettings, model: str, timeout_s: float | None, cancelled: Callable[[], bool]) -> _Search:
        world = self.embedder.registry.world_model(model)
        return _Search(world, self._settings(requested, world), self._rollout_mode(world), _Deadline(timeout_s, cancelled), time.perf_counter())

    def _settings(self, requested: RequestedSettings, world: WorldModel) -> CEMSettings:
        asked = requested.model_dump(exclude_none=True)
        values = {**world.plan_defaults, **asked}
        try:
            settings = CEMSettings.model_validate(values)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise InvalidInput(f"settings.{field}", f"got {first.get('input')!r}: {first['msg']}") from error
        if settings.top_k > settings.samples:
            if "top_k" in asked:
                raise InvalidInput("settings.top_k", f"got {settings.top_k}, at most samples ({settings.samples})")
            settings = settings.model_copy(update={"top_k": settings.samples})
        if settings.horizon > world.max_horizon:
            raise InvalidInput("settings.horizon", f"got {settings.horizon}, world model {world.encoder.name} plans at most {world.max_horizon} steps (jepa.max_horizon)")
        if settings.iterations > self.settings.plan_max_iterations:
            raise LimitExceeded("settings.iterations", f"got {settings.iterations}, the limit is {self.settings.plan_max_iterations} (plan_max_iterations)")
        steps = settings.samples * settings.horizon
        if steps > self.settings.plan_max_rollout_steps:
            raise LimitExceeded(
                "settings.samples",
                f"samples x horizon = {settings.samples} x {settings.horizon} = {steps}, the limit is {self.settings.plan_max_rollout_steps} (plan_max_rollout_steps)",
            )
        return settings

    def _rollout_mode(self, world: WorldModel) -> RolloutMode:
        wanted = self.settings.plan_rollout
        if wanted == "auto":
            return "triton" if world.rollout is not None else "gateway"
        served = world.rollout if wanted == "triton" else world.predictor
        if served is None:
            missing = "world_rollout" if wanted == "triton" else "world_predictor"
            raise FailedPrecondition("plan_rollout", f"the gateway rolls out in {wanted} but world space {world.world_space} has no {missing} model")
        return wanted

    @staticmethod
    def _state(state: np.ndarray, world: WorldModel, field: str) -> np.ndarray:
        state = np.asarray(state, dtype=np.float32).reshape(-1)
        if state.size != world.action_dim:
            raise InvalidInput(field, f"got {state.size} values, world model {world.encoder.name} needs {world.action_dim} (jepa.action_dim)")
        if not np.isfinite(state).all():
            raise InvalidInput(field, "values must be finite")
        return state

    def _goal_tokens(self, goal: GoalEmbedding, world: WorldModel) -> np.ndarray:
        if goal.world_space != world.world_space:
            raise InvalidInput("goal.embedding.world_space", f"got {goal.world_space!r}, world model {world.encoder.name} plans in {world.world_space!r}")
        values = np.asarray(goal.values, dtype=np.float32).reshape(-1)
        expected = world.tokens * world.token_dim
        if values.size != expected:
            raise InvalidInput("goal.embedding.values", f"got {values.size} values, need {expected} ({world.tokens} tokens x {world.token_dim})")
        if not np.isfinite(values).all():
            raise InvalidInput("goal.embedding.values", "values must be finite")
        return values.reshape(world.tokens, world.token_dim)

    async def _encode(self, search: _Search, observation: ImageSource, goal: Goal) -> tuple[np.ndarray, np.ndarray]:
        """(goal tokens, observation tokens), each (N, D): both images in one world_encoder call."""
        world = search.world
        goal_tokens = self._goal_tokens(goal, world) if isinstance(goal, GoalEmbedding) else None
        images: list[tuple[ImageSource, str]] = [(observation, "observation.image")]
        if not isinstance(goal, GoalEmbedding):
            images.append((goal, "goal.image"))
        for image, field in images:
            if isinstance(image, EncodedImage) and not image.data:
                raise InvalidInput(field, "empty image")
        with self.metrics.stage("decode"):
            prepared = await asyncio.gather(
                *(self.embedder.preparer.prepare(image, world.geometry, _ONE_IMAGE, self.embedder.limits, field) for image, field in images)
            )
        pixels = np.stack([video.pixel_values[0, 0] for video in prepared])
        with self.metrics.stage("infer"):
            outputs = await self.backend.infer(world.encoder, {"pixel_values": pixels}, ["observation_tokens"], search.deadline.remaining("before encoding"))
        tokens = outputs["observation_tokens"].astype(np.float32)
        return (tokens[1] if goal_tokens is None else goal_tokens), tokens[0]

    async def _run(
        self, search: _Search, cem: CrossEntropyMethod, observation_tokens: np.ndarray, state: np.ndarray, goal_tokens: np.ndarray, goal_from_image: bool
    ) -> AsyncIterator[IterationEvent | PlanResult]:
        settings = search.settings
        rollouts = 0
        for iteration in range(settings.iterations):
            actions = cem.sample()
            energies = await self._rollout(search, observation_tokens, state, goal_tokens, actions, f"after {iteration} of {settings.iterations} CEM iterations")
            outcome = cem.update(actions, energies[:, -1])
            rollouts += len(actions)
            self.metrics.plan_iterations.inc()
            yield IterationEvent(outcome.iteration, outcome.best_energy, outcome.elite_mean_energy, rollouts)
        plan = cem.plan()
        energies = await self._rollout(search, observation_tokens, state, goal_tokens, plan[None], "before the plan's own rollout")
        yield PlanResult(
            world=search.world, rollout=search.rollout, settings=settings, actions=plan, energies=energies[0], goal_tokens=goal_tokens,
            goal_from_image=goal_from_image, planning_ms=(time.perf_counter() - search.started) * 1000, rollouts=rollouts + 1,
        )

    async def _rollout(
        self, search: _Search, observation_tokens: np.ndarray, state: np.ndarray, goal_tokens: np.ndarray, actions: np.ndarray, before: str
    ) -> np.ndarray:
        """(S, H) energies of S action sequences (S, H, A) from one observation, against the goal."""
        world = search.world
        actions = np.ascontiguousarray(actions, dtype=np.float32)
        with self.metrics.stage("plan_rollout"):
            if search.rollout == "triton":
                assert world.rollout is not None
                inputs = {"observation_tokens": observation_tokens[None], "state": state[None], "goal_tokens": goal_tokens[None], "actions": actions}
                energies = (await self.backend.infer(world.rollout, inputs, ["energies"], search.deadline.remaining(before)))["energies"]
            else:
                energies = await self._gateway_rollout(search, observation_tokens, state, goal_tokens, actions, before)
        self.metrics.plan_rollouts.labels(search.rollout).inc(len(actions))
        return np.asarray(energies, dtype=np.float32)

    async def _gateway_rollout(
        self, search: _Search, observation_tokens: np.ndarray, state: np.ndarray, goal_tokens: np.ndarray, actions: np.ndarray, before: str
    ) -> np.ndarray:
        """The loop `world_rollout` runs inside Triton (its model.py), driven from here over
        `world_predictor`: each step feeds the whole predicted history back, and the state moves by
        clip(state + action) (docs/world-model.md)."""
        world = search.world
        assert world.predictor is not None
        samples, horizon, _ = actions.shape
        context = np.repeat(observation_tokens[None], samples, axis=0)
        states = np.repeat(state[None, None], samples, axis=0)
        energies = np.empty((samples, horizon), dtype=np.float32)
        for step in range(horizon):
            inputs = {"context_tokens": context, "actions": np.ascontiguousarray(actions[:, : step + 1]), "states": states}
            remaining = search.deadline.remaining(before if step == 0 else f"{before}, at rollout step {step} of {horizon}")
            next_tokens = (await self.backend.infer(world.predictor, inputs, ["next_tokens"], remaining))["next_tokens"]
            energies[:, step] = np.abs(next_tokens - goal_tokens).mean(axis=(1, 2))
            context = np.concatenate([context, next_tokens], axis=1)
            states = np.concatenate([states, np.clip(states[:, -1:] + actions[:, step : step + 1], world.state_low, world.state_high)], axis=1)
        return energies
