"""The planner's own logic over a toy world model (tests/planning/toy_world.py): the CEM loop and
its events, both rollout modes, validation and limits, deadlines, cancellation, MPC."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from support.toy_world import ACTIONS, TOKENS, WIDTH, WORLD_SPACE, ToyTriton, encode, image, png, rollout_energies, served_models, toy_planner

from jepa_server.app import NOT_LOADED_YET, _NotReadyRegistry
from jepa_server.core.planning import Decision, GoalEmbedding, IterationEvent, Observation, PlanResult, RequestedSettings
from jepa_server.core.registry import ModelRegistry
from jepa_server.errors import BackendUnavailable, DeadlineExceeded, FailedPrecondition, InvalidInput, LimitExceeded, MalformedRepository, NotFound
from jepa_server.media.video import DecodeLimits, EncodedImage, RawFrames, SamplingPlan, prepare_video


def frames(pixels: np.ndarray) -> RawFrames:
    return RawFrames(pixels.tobytes(), 1, pixels.shape[0], pixels.shape[1])


def observation(seed: int = 1, state: tuple[float, ...] = (0.5, 0.5)) -> Observation:
    return Observation(frames(image(seed)), np.asarray(state, np.float32))


async def collect(events) -> list:
    return [event async for event in events]


@pytest.mark.parametrize("rollout", ["triton", "gateway"])
async def test_plan_streams_one_event_per_iteration_then_the_result(rollout: str):
    triton = ToyTriton()
    planner = toy_planner(triton, plan_rollout=rollout)
    events = await collect(planner.plan(observation(), frames(image(2)), RequestedSettings(iterations=4, samples=32, horizon=3, seed=0)))
    assert [type(event) for event in events] == [IterationEvent] * 4 + [PlanResult]
    assert [event.iteration for event in events[:-1]] == [1, 2, 3, 4]
    assert [event.rollouts for event in events[:-1]] == [32, 64, 96, 128]
    result = events[-1]
    assert result.actions.shape == (3, ACTIONS) and result.rollout == rollout and result.rollouts == 129
    assert np.all(np.abs(result.actions) <= 0.5)
    # The plan's energies are its own rollout's, from the encoded observation to the encoded goal.
    tokens = encode(np.stack([prepared_pixels(image(1)), prepared_pixels(image(2))]))
    np.testing.assert_allclose(result.energies, rollout_energies(tokens[0], tokens[1], result.actions[None])[0], rtol=1e-5)
    np.testing.assert_allclose(result.goal_tokens, tokens[1])
    # One encoder call for both images; then one batched call per iteration (triton) or per step (gateway).
    assert triton.calls[0] == ("world_encoder", {"pixel_values": (2, 3, 8, 8)})
    if rollout == "triton":
        assert triton.count("world_rollout") == 5 and triton.calls[1][1]["actions"] == (32, 3, ACTIONS)
    else:
        assert triton.count("world_predictor") == 5 * 3 and triton.calls[1][1]["context_tokens"] == (32, TOKENS, WIDTH)


def prepared_pixels(pixels: np.ndarray) -> np.ndarray:
    """The pixels the gateway feeds the encoder for one image (its one preprocessing)."""
    world = ModelRegistry(served_models(), Path("."), 16).world_model("")
    return prepare_video(frames(pixels), world.geometry, SamplingPlan(frames_per_clip=1, max_windows=1), DecodeLimits()).pixel_values[0, 0]


async def test_triton_and_gateway_rollouts_plan_the_same_with_one_seed():
    plans = []
    for rollout in ("triton", "gateway"):
        events = await collect(toy_planner(plan_rollout=rollout).plan(observation(), frames(image(2)), RequestedSettings(seed=3)))
        plans.append(events[-1])
    np.testing.assert_allclose(plans[0].actions, plans[1].actions, rtol=1e-5)
    np.testing.assert_allclose(plans[0].energies, plans[1].energies, rtol=1e-5)


async def test_cem_lowers_the_energy_of_the_last_step():
    events = await collect(toy_planner().plan(observation(), frames(image(2)), RequestedSettings(samples=256, iterations=6, top_k=16, seed=0)))
    best = [event.best_energy for event in events[:-1]]
    assert best[-1] < best[0]
    zero_plan = rollout_energies(encode(prepared_pixels(image(1))[None])[0], events[-1].goal_tokens, np.zeros((1, 2, ACTIONS)))
    assert events[-1].energies[-1] < zero_plan[0, -1]


async def test_model_defaults_fill_unset_settings_and_requests_override_them():
    events = await collect(toy_planner().plan(observation(), frames(image(2)), RequestedSettings(iterations=2)))
    settings = events[-1].settings
    assert (settings.samples, settings.horizon, settings.iterations, settings.top_k) == (64, 2, 2, 8)


async def test_goal_embedding_skips_encoding_the_goal():
    triton = ToyTriton()
    planner = toy_planner(triton)
    first = (await collect(planner.plan(observation(), frames(image(2)), RequestedSettings(seed=0))))[-1]
    again = (await collect(planner.plan(observation(), GoalEmbedding(first.goal_tokens.ravel(), WORLD_SPACE), RequestedSettings(seed=0))))[-1]
    np.testing.assert_allclose(again.actions, first.actions)
    encoder_calls = [shapes for name, shapes in triton.calls if name == "world_encoder"]
    assert encoder_calls == [{"pixel_values": (2, 3, 8, 8)}, {"pixel_values": (1, 3, 8, 8)}]
    assert first.goal_from_image and not again.goal_from_image


async def test_encoded_png_images_are_accepted_and_bad_bytes_name_the_field():
    planner = toy_planner()
    from_png = (await collect(planner.plan(Observation(EncodedImage(png(image(1))), np.array([0.5, 0.5])), EncodedImage(png(image(2))), RequestedSettings(seed=0))))[-1]
    from_frames = (await collect(planner.plan(observation(), frames(image(2)), RequestedSettings(seed=0))))[-1]
    np.testing.assert_allclose(from_png.actions, from_frames.actions)
    with pytest.raises(InvalidInput, match=r"^goal\.image: "):
        await collect(planner.plan(observation(), EncodedImage(b"not an image"), RequestedSettings()))


@pytest.mark.parametrize(
    ("requested", "error", "message"),
    [
        (RequestedSettings(horizon=5), InvalidInput, r"^settings\.horizon: got 5, world model world_encoder plans at most 4 steps \(jepa\.max_horizon\)"),
        (RequestedSettings(iterations=51), LimitExceeded, r"^settings\.iterations: got 51, the limit is 50 \(plan_max_iterations\)"),
        (RequestedSettings(samples=5000, horizon=4), LimitExceeded, r"^settings\.samples: samples x horizon = 5000 x 4 = 20000, the limit is 16384 \(plan_max_rollout_steps\)"),
        (RequestedSettings(samples=8, top_k=9), InvalidInput, r"^settings\.top_k: got 9, at most samples \(8\)"),
        (RequestedSettings(momentum_mean=1.5), InvalidInput, r"^settings\.momentum_mean: "),
        (RequestedSettings(samples=-3), InvalidInput, r"^settings\.samples: "),
    ],
)
async def test_settings_over_a_limit_name_the_field_and_the_limit(requested, error, message):
    triton = ToyTriton()
    with pytest.raises(error, match=message):
        await collect(toy_planner(triton).plan(observation(), frames(image(2)), requested))
    assert triton.calls == []  # refused before any inference


async def test_default_top_k_is_cut_to_fewer_samples():
    result = (await collect(toy_planner().plan(observation(), frames(image(2)), RequestedSettings(samples=4))))[-1]
    assert result.settings.top_k == 4


@pytest.mark.parametrize(
    ("observed", "goal", "message"),
    [
        (observation(state=(0.5,)), frames(image(2)), r"^observation\.state: got 1 values, world model world_encoder needs 2 \(jepa\.action_dim\)"),
        (observation(state=(0.5, float("nan"))), frames(image(2)), r"^observation\.state: values must be finite"),
        (observation(), GoalEmbedding(np.zeros(5, np.float32), WORLD_SPACE), rf"^goal\.embedding\.values: got 5 values, need {TOKENS * WIDTH}"),
        (observation(), GoalEmbedding(np.zeros(TOKENS * WIDTH, np.float32), "world-other"), r"^goal\.embedding\.world_space: got 'world-other'"),
        (Observation(RawFrames(b"\0" * 10, 1, 8, 8), np.array([0.5, 0.5])), frames(image(2)), r"^observation\.image\.data: got 10 bytes"),
    ],
)
async def test_bad_observations_and_goals_are_invalid_arguments_naming_the_field(observed, goal, message):
    with pytest.raises(InvalidInput, match=message):
        await collect(toy_planner().plan(observed, goal, RequestedSettings()))


async def test_a_deadline_stops_the_search():
    triton = ToyTriton(delay_s=0.05)
    with pytest.raises(DeadlineExceeded, match=r"^deadline: the call's deadline passed after \d+ of 20 CEM iterations"):
        await collect(toy_planner(triton).plan(observation(), frames(image(2)), RequestedSettings(iterations=20), timeout_s=0.3))
    assert triton.count("world_rollout") < 20


async def test_a_cancelled_caller_gets_no_further_inference_calls():
    triton = ToyTriton()
    gone = False
    events = toy_planner(triton).plan(observation(), frames(image(2)), RequestedSettings(iterations=10), cancelled=lambda: gone)
    first = await anext(events)
    assert isinstance(first, IterationEvent)
    gone = True
    with pytest.raises(asyncio.CancelledError):
        await anext(events)
    assert triton.count("world_rollout") == 1


async def test_cancelling_the_task_cancels_the_call_in_flight():
    triton = ToyTriton(delay_s=10)
    task = asyncio.create_task(collect(toy_planner(triton).plan(observation(), frames(image(2)), RequestedSettings())))
    while triton.count("world_rollout") == 0:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert triton.count("world_rollout") == 1


async def test_plan_stream_answers_each_observation_warm_started_and_encodes_the_goal_once():
    triton = ToyTriton()

    async def observations():
        for seed in (1, 3, 4):
            yield observation(seed)

    decisions = await collect(toy_planner(triton).plan_stream(frames(image(2)), RequestedSettings(iterations=2, seed=0), observations()))
    assert [type(decision) for decision in decisions] == [Decision] * 3
    assert [decision.step for decision in decisions] == [0, 1, 2]
    assert all(len(decision.iterations) == 2 and decision.result.actions.shape == (2, ACTIONS) for decision in decisions)
    encoder_batches = [shapes["pixel_values"][0] for name, shapes in triton.calls if name == "world_encoder"]
    assert encoder_batches == [2, 1, 1]
    assert decisions[0].result.goal_from_image


async def test_no_world_model_is_not_found_and_models_not_loaded_yet_unavailable():
    no_world = toy_planner(served={})
    with pytest.raises(NotFound, match="^model: this server has no world model"):
        await collect(no_world.plan(observation(), frames(image(2)), RequestedSettings()))
    no_world.embedder.registry = _NotReadyRegistry(NOT_LOADED_YET)
    with pytest.raises(BackendUnavailable):
        await collect(no_world.plan(observation(), frames(image(2)), RequestedSettings()))


def test_world_model_is_found_by_world_space_or_encoder_name():
    registry = ModelRegistry(served_models(), Path("."), 16)
    assert registry.world_model(WORLD_SPACE) is registry.world_model("world_encoder") is registry.world_model("")
    with pytest.raises(NotFound, match="'elsewhere' is not a served world model"):
        registry.world_model("elsewhere")


def test_a_world_model_without_an_encoder_or_with_bad_defaults_refuses_the_repository():
    with pytest.raises(MalformedRepository, match="needs a world_encoder"):
        ModelRegistry(served_models(roles=("world_rollout",)), Path("."), 16)
    with pytest.raises(MalformedRepository, match="jepa.plan_defaults"):
        ModelRegistry(served_models(plan_defaults='{"samples": -1}'), Path("."), 16)
    with pytest.raises(MalformedRepository, match="jepa.plan_defaults"):
        ModelRegistry(served_models(plan_defaults='{"sample": 3}'), Path("."), 16)


async def test_gateway_rollout_without_world_rollout_is_auto_and_triton_is_refused():
    only_predictor = served_models(roles=("world_encoder", "world_predictor"))
    result = (await collect(toy_planner(served=only_predictor).plan(observation(), frames(image(2)), RequestedSettings())))[-1]
    assert result.rollout == "gateway"
    with pytest.raises(FailedPrecondition, match="^plan_rollout: "):
        await collect(toy_planner(served=only_predictor, plan_rollout="triton").plan(observation(), frames(image(2)), RequestedSettings()))
