"""A model that fails on a valid request fails again on the same request: the gateway answers
INTERNAL (Triton's own status for it), never UNAVAILABLE, so the SDK does not retry it, and the
server keeps serving."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from jepa_client import Client, ClientOptions, InternalError, RetryPolicy
from jepa_server.settings import Settings
from jepa_server.triton_local import LocalTriton, LocalTritonOptions
from support.calls import fresh_index
from support.gateway import GatewayThread
from support.prometheus_text import sample_value, scrape
from support.repository import read_config, write_config
from support.waiting import wait_until

MODEL = "text_encoder"


def reshape_that_fails_onnx(path: Path, dimension: int) -> None:
    """A text encoder whose graph reshapes the token ids into rows of 7: ONNX Runtime raises for
    any batch of 16 tokens (the gateway pads to multiples of 16), every time."""
    nodes = [
        helper.make_node("Reshape", ["input_ids", "rows_of_seven"], ["rows"]),
        helper.make_node("Cast", ["rows"], ["features"], to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["features", "projection"], ["text_embedding"]),
    ]
    graph = helper.make_graph(
        nodes, "reshape_that_fails",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"]) for name in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("text_embedding", TensorProto.FLOAT, ["rows", dimension])],
        initializer=[
            numpy_helper.from_array(np.array([-1, 7], np.int64), "rows_of_seven"),
            numpy_helper.from_array(np.ones((7, dimension), np.float32), "projection"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


@pytest.fixture(scope="module")
def failing_repository(cpu_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The exported text encoder's config, tokenizer and Triton model.py around that graph; without
    warm-up, which would keep it from loading."""
    model_dir = tmp_path_factory.mktemp("failing-repository") / MODEL
    (model_dir / "1").mkdir(parents=True)
    for name in ("tokenizer.json", "1/model.py"):
        shutil.copy(cpu_repository / MODEL / name, model_dir / name)
    config = read_config(cpu_repository / MODEL)
    del config.model_warmup[:]
    write_config(model_dir, config)
    reshape_that_fails_onnx(model_dir / "1" / "model.onnx", config.output[0].dims[-1])
    return model_dir.parent


@pytest.fixture(scope="module")
def failing_triton(failing_repository: Path) -> Iterator[LocalTriton]:
    with LocalTriton(LocalTritonOptions(repository=failing_repository, startup_timeout_s=120)) as triton:
        yield triton


@pytest.fixture(scope="module")
def failing_gateway(failing_triton: LocalTriton, failing_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayThread]:
    settings = Settings(
        port=0, metrics_port=0, triton_url=failing_triton.grpc_url, model_repository=failing_repository, decode_workers=1, warmup=False,
        **fresh_index(Settings, tmp_path_factory),
    )
    thread = GatewayThread(settings).start()
    yield thread
    thread.stop()


def test_a_model_failing_on_a_valid_request_answers_internal_and_is_not_retried(failing_triton, failing_gateway) -> None:
    def requests_to_triton() -> float:
        # The python backend's error responses count as "success" in Triton's metrics: count both.
        metrics = scrape(failing_triton.metrics_url)
        return sum(sample_value(metrics, name, model=MODEL) for name in ("nv_inference_request_success", "nv_inference_request_failure"))

    before = requests_to_triton()
    eager = ClientOptions(address=failing_gateway.address, timeout=30, retry=RetryPolicy(max_retries=5, initial_backoff=0.01, max_backoff=0.05))
    with Client(eager) as client:
        with pytest.raises(InternalError, match=rf"model: {MODEL} failed \(INTERNAL\)"):
            client.embed_text(["a dog catches a frisbee"])
        # Triton's counters can lag the response a little: wait for the one request, then make sure
        # no second one shows up (a retry would have been sent before the client raised).
        assert wait_until(lambda: requests_to_triton() - before >= 1, 10), "Triton never counted the request"
        assert not wait_until(lambda: requests_to_triton() - before > 1, 2), "the failing request was sent again"
        # A failing model is not an outage: the gateway still serves, and says which model failed.
        assert [model.name for model in client.list_models()] == [MODEL]
