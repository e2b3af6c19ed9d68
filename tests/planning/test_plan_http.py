"""POST /v1/plan and the world models in ListModels, over the real stack (the tiny world model of
support.world in a real Triton, a real gateway): the HTTP front end plans exactly as gRPC does,
refuses what gRPC refuses with the status of its kind naming the field, and is scoped `plan`."""

from __future__ import annotations

import base64
import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from jepa_client import Client, Observation, Plan, PlanIteration, PlanOptions
from support.prometheus_text import sample_value
from support.toy_world import png
from support.world import smooth_image

STATE = [0.3, 0.6]
WORLD_ROLES = {"world_encoder", "world_rollout", "world_predictor"}


def image_text(seed: int) -> str:
    return base64.b64encode(png(smooth_image(seed))).decode()


def body(settings: dict | None = None, **fields) -> dict:
    """A plan request from observation 1 towards goal image 2, with `fields` replacing its parts."""
    return {"observation": {"image": image_text(1), "state": STATE}, "goal": {"image": image_text(2)}, "settings": settings or {}, **fields}


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text[:500]
    return response.json()["error"]


@pytest.fixture(scope="module")
def http(world_gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=world_gateway.http_url, timeout=120) as connected:
        yield connected


@pytest.fixture()
def client(world_gateway) -> Iterator[Client]:
    with Client(world_gateway.address) as connected:
        yield connected


def test_http_plan_equals_the_grpc_plan_for_the_same_seed(http: httpx.Client, client: Client, world_gateway):
    before = sample_value(world_gateway.metrics_text(), "jepa_requests_total", method="Plan", protocol="http", code="OK")
    answer = http.post("/v1/plan", json=body({"seed": 5, "iterations": 3, "samples": 40, "horizon": 3}))
    assert answer.status_code == 200, answer.text[:500]
    planned = answer.json()
    events = list(client.plan(Observation(png(smooth_image(1)), tuple(STATE)), png(smooth_image(2)), PlanOptions(seed=5, iterations=3, samples=40, horizon=3)))
    iterations, reference = events[:-1], events[-1]
    assert all(isinstance(event, PlanIteration) for event in iterations) and isinstance(reference, Plan)
    np.testing.assert_allclose(planned["actions"], reference.actions, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(planned["energies"], reference.energies, rtol=1e-5)
    assert [iteration["index"] for iteration in planned["iterations"]] == [1, 2, 3]
    assert [iteration["rollouts"] for iteration in planned["iterations"]] == [event.rollouts for event in iterations] == [40, 80, 120]
    np.testing.assert_allclose([iteration["best_energy"] for iteration in planned["iterations"]], [event.best_energy for event in iterations], rtol=1e-5)
    np.testing.assert_allclose(
        [iteration["elite_mean_energy"] for iteration in planned["iterations"]], [event.elite_mean_energy for event in iterations], rtol=1e-5
    )
    model = planned["model"]
    assert {**model, "max_action": tuple(model["max_action"])} == dataclasses.asdict(reference.model) | {"max_action": tuple(reference.model.max_action)}
    assert planned["rollouts"] == reference.rollouts == 121
    assert planned["settings"] == {"horizon": 3, "samples": 40, "iterations": 3, "top_k": 4, "init_std": None, "momentum_mean": 0.15, "momentum_std": 0.15, "seed": 5}
    goal = planned["goal_embedding"]
    assert reference.goal_embedding is not None and goal["world_space"] == reference.goal_embedding.world_space == model["world_space"]
    np.testing.assert_allclose(goal["values"], reference.goal_embedding.values.ravel(), rtol=1e-6)
    assert planned["planning_ms"] > 0
    metrics = world_gateway.metrics_text()
    assert sample_value(metrics, "jepa_requests_total", method="Plan", protocol="http", code="OK") == before + 1


def test_a_goal_embedding_round_trip_plans_the_same_without_the_goal_image(http: httpx.Client):
    first = http.post("/v1/plan", json=body({"seed": 2})).json()
    goal = first["goal_embedding"]
    assert len(goal["values"]) == first["model"]["tokens"] * first["model"]["token_dim"]
    again = http.post("/v1/plan", json=body({"seed": 2}, goal={"embedding": goal["values"], "world_space": goal["world_space"]}))
    assert again.status_code == 200, again.text[:500]
    np.testing.assert_allclose(again.json()["actions"], first["actions"], rtol=1e-5, atol=1e-7)
    assert again.json()["goal_embedding"] is None  # the caller has the tokens already


@pytest.mark.parametrize(
    ("request_body", "status", "param", "message"),
    [
        (body({"horizon": 7}), 400, "settings.horizon", "settings.horizon: got 7, world model world_encoder plans at most 6 steps (jepa.max_horizon)"),
        (body({"iterations": 51}), 413, "settings.iterations", "settings.iterations: got 51, the limit is 50 (plan_max_iterations)"),
        (body({"samples": 4000, "horizon": 5}), 413, "settings.samples", "settings.samples: samples x horizon = 4000 x 5 = 20000, the limit is 16384 (plan_max_rollout_steps)"),
        (body({"samples": 8, "top_k": 9}), 400, "settings.top_k", "settings.top_k: got 9, at most samples (8)"),
        (body({"momentum_mean": 1.0}), 400, "settings.momentum_mean", None),
        (body({"horizon": 0}), 400, "settings.horizon", None),
        (body({"horizon": "three"}), 400, "settings.horizon", None),
        (body({"horizons": 3}), 400, "settings.horizons", None),
        (body(observation={"image": image_text(1), "state": [0.1, 0.2, 0.3]}), 400, "observation.state", "observation.state: got 3 values, world model world_encoder needs 2 (jepa.action_dim)"),
        (body(observation={"image": "not base64!", "state": STATE}), 400, "observation.image", None),
        (body(observation={"image": "", "state": STATE}), 400, "observation.image", "observation.image: empty image"),
        (body(observation={"image": base64.b64encode(b"not an image").decode(), "state": STATE}), 400, "observation.image", None),
        (body(observation={"state": STATE}), 400, "observation.image", None),
        (body(goal={}), 400, "goal", "goal: set one of image or embedding"),
        (body(goal={"image": image_text(2), "embedding": [0.0]}), 400, "goal", "goal: set one of image or embedding"),
        (body(goal={"embedding": [0.0] * 1024, "world_space": "world-elsewhere"}), 400, "goal.embedding.world_space", None),
        (body(model="no-such-world"), 404, "model", None),
    ],
)
def test_limits_and_bad_input_answer_the_status_of_their_kind_naming_the_field(http: httpx.Client, request_body, status, param, message):
    error = error_of(http.post("/v1/plan", json=request_body), status)
    assert error["param"] == param
    if message is not None:
        assert error["message"] == message


def test_the_request_timeout_answers_504(http: httpx.Client):
    slow = http.post("/v1/plan", json=body({"samples": 512, "horizon": 6, "iterations": 50}), headers={"x-request-timeout": "0.5"})
    assert error_of(slow, 504)["type"] == "timeout_error"


def test_list_models_shows_the_world_models_over_grpc_http_and_the_cli(http: httpx.Client, client: Client, world_gateway):
    world_space = http.post("/v1/plan", json=body({"iterations": 1})).json()["model"]["world_space"]
    listed = [model for model in client.list_models() if model.role in WORLD_ROLES]
    assert {model.role for model in listed} == WORLD_ROLES
    assert {model.world_space for model in listed} == {world_space}
    assert all(model.embedding_space == "" and model.dimension == 64 and model.version == "1" for model in listed)
    cards = [card for card in http.get("/v1/models").json()["data"] if card["kind"] == "world"]
    assert sorted((card["id"], card["role"], card["world_space"], card["version"]) for card in cards) == sorted(
        (model.name, model.role, model.world_space, model.version) for model in listed
    )
    printed = subprocess.run(
        [sys.executable, "-m", "jepa_client.cli", "--address", world_gateway.address, "models"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert f"world_encoder v1 (world_encoder, world space {world_space}, 64-d tokens)" in printed.splitlines()


def test_plan_is_scoped_plan_and_in_the_openapi_schema(world_gateway, tmp_path: Path):
    from support.gateway import GatewayThread

    tokens = tmp_path / "tokens.txt"
    tokens.write_text("plan-token plan\nembed-token embed\n")
    settings = world_gateway.settings.model_copy(
        update={"auth_tokens_file": tokens, "index_uri": str(Path(world_gateway.settings.index_uri).with_name("plan-scopes.db"))}
    )
    guarded = GatewayThread(settings).start()
    try:
        with httpx.Client(base_url=guarded.http_url, timeout=120) as http:
            assert error_of(http.post("/v1/plan", content=b"{broken"), 401)["type"] == "authentication_error"
            refused = error_of(http.post("/v1/plan", json=body({"iterations": 1}), headers={"Authorization": "Bearer embed-token"}), 403)
            assert refused["message"].startswith("authorization: this token may not call Plan (needs scope plan")
            planned = http.post("/v1/plan", json=body({"iterations": 1}), headers={"Authorization": "Bearer plan-token"})
            assert planned.status_code == 200 and len(planned.json()["actions"]) == planned.json()["settings"]["horizon"]
            schema = http.get("/openapi.json").json()
        operation = schema["paths"]["/v1/plan"]["post"]
        assert operation["tags"] == ["planning"]
        assert operation["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PlanRequest"}
        assert {"PlanRequest", "PlanResponse", "PlanSettings"} <= set(schema["components"]["schemas"])
    finally:
        guarded.stop()
