"""jepa.v1.PlanService: Plan (CEM iterations, then the plan) and PlanStream (closed-loop MPC)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import numpy as np

from jepa_client.v1 import planning_pb2, planning_pb2_grpc
from jepa_server.api import convert
from jepa_server.api.guard import RpcGuard, time_remaining
from jepa_server.core.cem import CEMSettings
from jepa_server.core.planning import (
    Decision,
    EncodedImage,
    Goal,
    GoalEmbedding,
    ImageSource,
    IterationEvent,
    Observation,
    PlanResult,
    Planner,
    RequestedSettings,
)
from jepa_server.errors import InvalidInput


def image_source(image: planning_pb2.Image, field: str) -> ImageSource:
    kind = image.WhichOneof("source")
    if kind == "encoded":
        return EncodedImage(bytes(image.encoded))
    if kind == "frames":
        if image.frames.num_frames != 1:
            raise InvalidInput(f"{field}.frames.num_frames", f"got {image.frames.num_frames}, an image is 1 frame")
        return convert.raw_frames(image.frames)
    raise InvalidInput(field, "set one of encoded or frames")


def observation(message: planning_pb2.Observation) -> Observation:
    return Observation(image_source(message.image, "observation.image"), np.asarray(message.state, dtype=np.float32))


def goal(message: planning_pb2.Goal) -> Goal:
    kind = message.WhichOneof("target")
    if kind == "image":
        return image_source(message.image, "goal.image")
    if kind == "embedding":
        return GoalEmbedding(np.asarray(message.embedding.values, dtype=np.float32), message.embedding.world_space)
    raise InvalidInput("goal", "set one of image or embedding")


def requested_settings(settings: planning_pb2.PlanSettings) -> RequestedSettings:
    """Zeros and unset optional fields are left to the server's defaults."""
    optional = {name: getattr(settings, name) if settings.HasField(name) else None for name in ("momentum_mean", "momentum_std", "seed")}
    return RequestedSettings(
        horizon=settings.horizon or None,
        samples=settings.samples or None,
        iterations=settings.iterations or None,
        top_k=settings.top_k or None,
        init_std=settings.init_std or None,
        **optional,
    )


def settings_message(settings: CEMSettings) -> planning_pb2.PlanSettings:
    return planning_pb2.PlanSettings(
        horizon=settings.horizon, samples=settings.samples, iterations=settings.iterations, top_k=settings.top_k,
        init_std=settings.init_std or 0.0, momentum_mean=settings.momentum_mean, momentum_std=settings.momentum_std, seed=settings.seed,
    )


def world_info(result: PlanResult) -> planning_pb2.WorldModelInfo:
    world = result.world
    return planning_pb2.WorldModelInfo(
        name=world.encoder.name, version=world.encoder.version, world_space=world.world_space, action_dim=world.action_dim,
        tokens=world.tokens, token_dim=world.token_dim, max_horizon=world.max_horizon, max_action=world.max_action.tolist(), rollout=result.rollout,
    )


def goal_embedding(result: PlanResult) -> planning_pb2.GoalEmbedding | None:
    goal = result.returned_goal
    return None if goal is None else planning_pb2.GoalEmbedding(values=goal.values.ravel().tolist(), world_space=goal.world_space)


def iteration_message(event: IterationEvent) -> planning_pb2.PlanIteration:
    return planning_pb2.PlanIteration(index=event.iteration, best_energy=event.best_energy, elite_mean_energy=event.elite_mean_energy, rollouts=event.rollouts)


def result_message(result: PlanResult) -> planning_pb2.PlanResult:
    horizon, action_dim = result.actions.shape
    return planning_pb2.PlanResult(
        actions=result.actions.ravel().tolist(), horizon=horizon, action_dim=action_dim, energies=result.energies.tolist(),
        goal_embedding=goal_embedding(result), model=world_info(result), planning_ms=result.planning_ms, rollouts=result.rollouts,
        settings=settings_message(result.settings),
    )


def decision_message(decision: Decision) -> planning_pb2.PlanStreamResponse:
    result = decision.result
    first = decision.step == 0
    return planning_pb2.PlanStreamResponse(
        step=decision.step, action=result.actions[0].tolist(), plan=result.actions.ravel().tolist(), energies=result.energies.tolist(),
        iteration_best_energies=[event.best_energy for event in decision.iterations], rollouts=result.rollouts, planning_ms=result.planning_ms,
        model=world_info(result) if first else None, goal_embedding=goal_embedding(result) if first else None,
    )


def build_planning_servicer(planner: Planner, guard: RpcGuard) -> planning_pb2_grpc.PlanServiceServicer:
    received = planner.metrics.received_bytes

    class PlanServicer(planning_pb2_grpc.PlanServiceServicer):
        @guard.stream("Plan")
        async def Plan(self, request: planning_pb2.PlanRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[planning_pb2.PlanEvent]:
            received.labels("Plan").inc(request.ByteSize())
            events = planner.plan(
                observation(request.observation), goal(request.goal), requested_settings(request.settings), request.model,
                time_remaining(context), context.cancelled,
            )
            async for event in events:
                if isinstance(event, PlanResult):
                    yield planning_pb2.PlanEvent(result=result_message(event))
                else:
                    yield planning_pb2.PlanEvent(iteration=iteration_message(event))

        @guard.stream("PlanStream")
        async def PlanStream(
            self, request_iterator: AsyncIterator[planning_pb2.PlanStreamRequest], context: grpc.aio.ServicerContext
        ) -> AsyncIterator[planning_pb2.PlanStreamResponse]:
            first = await anext(aiter(request_iterator), None)
            if first is None:
                raise InvalidInput("requests", "the stream carried no message")

            async def observations() -> AsyncIterator[Observation]:
                async for message in convert.prepend(first, request_iterator):
                    received.labels("PlanStream").inc(message.ByteSize())
                    yield observation(message.observation)

            decisions = planner.plan_stream(
                goal(first.goal), requested_settings(first.settings), observations(), first.model, time_remaining(context), context.cancelled
            )
            async for decision in decisions:
                yield decision_message(decision)

    return PlanServicer()
