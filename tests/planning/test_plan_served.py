"""PlanService over the real stack: the tiny world model exported by support.world, a real Triton,
a real gateway on a socket, and the SDK and CLI as users call them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import torch

from jepa_client import AsyncClient, Client, GoalEmbedding, Observation, Plan, PlanIteration, PlanOptions
from jepa_client.errors import DeadlineExceededError, InvalidArgumentError, ResourceExhaustedError
from jepa_client.v1 import planning_pb2, planning_pb2_grpc
from support.prometheus_text import sample_value, scrape
from support.toy_world import png
from support.world import smooth_image

STATE = (0.3, 0.6)


@pytest.fixture(scope="module")
def world(world_checkpoint: Path):
    from jepa_export.world.model import load_world_model

    return load_world_model(world_checkpoint)


@pytest.fixture()
def client(world_gateway) -> Client:
    with Client(world_gateway.address) as connected:
        yield connected


def plan(client: Client, options: PlanOptions, **kwargs) -> list:
    return list(client.plan(Observation(smooth_image(1), STATE), smooth_image(2), options, **kwargs))


def offline_energies(world, actions: np.ndarray) -> np.ndarray:
    """The plan's energies from PyTorch alone: the same pixels, the reference encoder and rollout."""
    from jepa_export.world.rollout import energies, rollout
    from jepa_media import normalise

    config = world.config
    pixels = torch.from_numpy(normalise(np.stack([smooth_image(1), smooth_image(2)]), tuple(config.image_mean), tuple(config.image_std)))
    with torch.no_grad():
        tokens = world.encoder(pixels)
        predicted = rollout(
            world.predictor, tokens[:1], torch.tensor([STATE]), torch.from_numpy(actions[None]),
            torch.tensor(config.actions.state_low), torch.tensor(config.actions.state_high),
        )
        return energies(predicted, tokens[1:])[0].numpy()


def test_plan_streams_one_event_per_iteration_then_the_result(client: Client, world):
    events = plan(client, PlanOptions(iterations=4, samples=48, horizon=3, seed=0))
    assert [type(event) for event in events] == [PlanIteration] * 4 + [Plan]
    assert [event.index for event in events[:-1]] == [1, 2, 3, 4]
    assert [event.rollouts for event in events[:-1]] == [48, 96, 144, 192]
    result = events[-1]
    assert result.actions.shape == (3, 2) and result.energies.shape == (3,)
    assert np.all(np.abs(result.actions) <= 0.1 + 1e-6)
    assert result.rollouts == 193 and result.model.rollout == "triton" and result.model.name == "world_encoder"
    assert result.goal_embedding is not None and result.goal_embedding.values.shape == (result.model.tokens, result.model.token_dim)
    assert result.settings.top_k == 4  # the model's recommendation fills what the request left unset


def test_result_energies_equal_an_offline_pytorch_rollout_within_1e_4_relative(client: Client, world):
    result = plan(client, PlanOptions(seed=1))[-1]
    np.testing.assert_allclose(result.energies, offline_energies(world, result.actions), rtol=1e-4)


def test_gateway_driven_rollout_plans_the_same_as_triton(world_gateway, world):
    """plan_rollout "gateway" drives world_predictor step by step: same seed, same plan, same energies."""
    from support.gateway import GatewayThread

    settings = world_gateway.settings.model_copy(update={"plan_rollout": "gateway", "index_uri": str(Path(world_gateway.settings.index_uri).with_name("gateway-rollout.db"))})
    gateway = GatewayThread(settings).start()
    try:
        with Client(gateway.address) as gateway_client, Client(world_gateway.address) as triton_client:
            driven = plan(gateway_client, PlanOptions(seed=4))[-1]
            inside = plan(triton_client, PlanOptions(seed=4))[-1]
        assert driven.model.rollout == "gateway"
        np.testing.assert_allclose(driven.actions, inside.actions, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(driven.energies, inside.energies, rtol=1e-4)
        np.testing.assert_allclose(driven.energies, offline_energies(world, driven.actions), rtol=1e-4)
    finally:
        gateway.stop()


def test_png_observation_and_goal_embedding_reuse_plan_the_same(client: Client):
    first = plan(client, PlanOptions(seed=2))[-1]
    again = list(client.plan(Observation(png(smooth_image(1)), STATE), first.goal_embedding, PlanOptions(seed=2)))[-1]
    np.testing.assert_allclose(again.actions, first.actions, rtol=1e-5)
    assert again.goal_embedding is None  # the caller has the tokens already


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (PlanOptions(horizon=7), InvalidArgumentError, "settings.horizon: got 7, world model world_encoder plans at most 6 steps (jepa.max_horizon)"),
        (PlanOptions(iterations=51), ResourceExhaustedError, "settings.iterations: got 51, the limit is 50 (plan_max_iterations)"),
        (PlanOptions(samples=4000, horizon=5), ResourceExhaustedError, "settings.samples: samples x horizon = 4000 x 5 = 20000, the limit is 16384 (plan_max_rollout_steps)"),
        (PlanOptions(samples=8, top_k=9), InvalidArgumentError, "settings.top_k: got 9, at most samples (8)"),
    ],
)
def test_limits_answer_their_code_naming_the_field_and_the_limit(client: Client, options, error, message):
    with pytest.raises(error) as raised:
        plan(client, options)
    assert message in str(raised.value)


def test_bad_state_and_foreign_goal_embedding_are_invalid_arguments(client: Client):
    with pytest.raises(InvalidArgumentError, match=r"observation\.state: got 3 values, world model world_encoder needs 2"):
        list(client.plan(Observation(smooth_image(1), (0.1, 0.2, 0.3)), smooth_image(2)))
    with pytest.raises(InvalidArgumentError, match=r"goal\.embedding\.world_space: got 'world-elsewhere'"):
        list(client.plan(Observation(smooth_image(1), STATE), GoalEmbedding(np.zeros(16 * 64, np.float32), "world-elsewhere")))


def test_a_deadline_returns_deadline_exceeded(client: Client):
    with pytest.raises(DeadlineExceededError):
        plan(client, PlanOptions(samples=512, horizon=6, iterations=50), timeout=0.5)


def _rollout_requests(triton) -> float:
    text = scrape(triton.metrics_url)
    return sum(sample_value(text, name, model="world_rollout") for name in ("nv_inference_request_success", "nv_inference_request_failure"))


def test_cancelling_after_the_first_iteration_stops_the_triton_calls(world_gateway, world_triton):
    stub = planning_pb2_grpc.PlanServiceStub(grpc.insecure_channel(world_gateway.address))
    request = planning_pb2.PlanRequest(
        observation=planning_pb2.Observation(image=planning_pb2.Image(encoded=png(smooth_image(1))), state=STATE),
        goal=planning_pb2.Goal(image=planning_pb2.Image(encoded=png(smooth_image(2)))),
        settings=planning_pb2.PlanSettings(samples=256, horizon=3, iterations=50),
    )
    started = time.perf_counter()
    call = stub.Plan(request, timeout=300)
    assert next(call).WhichOneof("event") == "iteration"
    first_iteration_s = time.perf_counter() - started
    call.cancel()
    at_cancel = _rollout_requests(world_triton), _plan_rollouts(world_gateway)
    # Long enough for many more iterations had the search gone on (50 of them are ~50 x the first).
    time.sleep(min(max(2.0, 10 * first_iteration_s), 20.0))
    after = _rollout_requests(world_triton), _plan_rollouts(world_gateway)
    assert after[0] - at_cancel[0] <= 1  # at most the call in flight at the cancel finishes in Triton
    assert after[1] - at_cancel[1] <= 256
    assert sample_value(world_gateway.metrics_text(), "jepa_requests", method="Plan", code="CANCELLED") >= 1


def _plan_rollouts(gateway) -> float:
    return sample_value(gateway.metrics_text(), "jepa_plan_rollouts", rollout="triton")


def test_plan_stream_answers_one_action_per_observation(client: Client):
    observations = [Observation(smooth_image(seed), state) for seed, state in ((1, STATE), (3, (0.35, 0.6)), (4, (0.4, 0.62)))]
    steps = list(client.plan_stream(smooth_image(2), observations, PlanOptions(iterations=2, seed=0)))
    assert [step.step for step in steps] == [0, 1, 2]
    for step in steps:
        assert step.action.shape == (2,) and step.plan.shape == (3, 2) and step.energies.shape == (3,)
        np.testing.assert_array_equal(step.action, step.plan[0])
        assert len(step.iteration_best_energies) == 2
    assert steps[0].model is not None and steps[0].goal_embedding is not None
    assert steps[1].model is None and steps[1].goal_embedding is None


def test_async_client_plans_and_streams(world_gateway):
    async def run() -> tuple[list, list]:
        async with AsyncClient(world_gateway.address) as client:
            events = [event async for event in client.plan(Observation(smooth_image(1), STATE), smooth_image(2), PlanOptions(iterations=2))]

            async def observations():
                for seed in (1, 3):
                    yield Observation(smooth_image(seed), STATE)

            steps = [step async for step in client.plan_stream(smooth_image(2), observations(), PlanOptions(iterations=1))]
            return events, steps

    events, steps = asyncio.run(run())
    assert [type(event) for event in events] == [PlanIteration, PlanIteration, Plan]
    assert [step.step for step in steps] == [0, 1]


def test_cli_prints_each_iteration_and_the_actions(world_gateway, tmp_path: Path):
    (tmp_path / "now.png").write_bytes(png(smooth_image(1)))
    (tmp_path / "goal.png").write_bytes(png(smooth_image(2)))
    command = [
        sys.executable, "-m", "jepa_client.cli", "--address", world_gateway.address, "plan", "--observation", str(tmp_path / "now.png"),
        "--state", "0.3,0.6", "--goal", str(tmp_path / "goal.png"), "--iterations", "3", "--horizon", "2", "--seed", "0",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:3]] == [["iteration", "1"], ["iteration", "2"], ["iteration", "3"]]
    assert "best energy" in lines[0]
    assert lines[-2].startswith("step 0  action [") and lines[-1].startswith("step 1  action [")


def test_jepa_serve_check_passes_a_world_model_repository(world_triton, world_repository: Path, capsys):
    from jepa_server.check import check_repository

    assert asyncio.run(check_repository(world_repository, world_triton.grpc_url)) == 0
    printed = capsys.readouterr().out
    for line in ("world_encoder (version 1): observation_tokens (1, 16, 64): ok", "energies (2, 1): ok", "next_tokens (1, 16, 64): ok"):
        assert line in printed
