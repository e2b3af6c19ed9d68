"""A repository whose caption decoder lacks `jepa.bos_id` (from an exported VL-JEPA repository):
`jepa-serve check` and a running gateway both refuse it, naming the model and the parameter,
instead of decoding from a guessed start token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jepa_client import Client, ClientOptions, FailedPreconditionError, RetryPolicy
from jepa_server.cli import main as jepa_serve
from jepa_server.settings import Settings
from jepa_server.triton_local import LocalTriton, LocalTritonOptions
from support.calls import fresh_index
from support.gateway import GatewayThread
from support.repository import copy_model, read_config, write_config
from support.waiting import wait_until

REFUSAL = "model text_decoder: parameter jepa.bos_id is missing from its config.pbtxt (see docs/repository-format.md)"


@pytest.fixture(scope="module")
def repository_without_bos_id(vljepa_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    repository = tmp_path_factory.mktemp("malformed-repository")
    copy_model(vljepa_repository, "vjepa2_encoder", repository)
    decoder = copy_model(vljepa_repository, "text_decoder", repository)
    config = read_config(decoder)
    del config.parameters["jepa.bos_id"]
    write_config(decoder, config)
    return repository


def test_check_refuses_the_repository_naming_model_and_parameter(repository_without_bos_id: Path, capsys) -> None:
    assert jepa_serve(["check", str(repository_without_bos_id)]) == 1
    assert REFUSAL in capsys.readouterr().err


@pytest.fixture(scope="module")
def refusing_gateway(repository_without_bos_id: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayThread]:
    with LocalTriton(LocalTritonOptions(repository=repository_without_bos_id, startup_timeout_s=120)) as triton:
        settings = Settings(
            port=0, metrics_port=0, triton_url=triton.grpc_url, model_repository=repository_without_bos_id, decode_workers=1,
            **fresh_index(Settings, tmp_path_factory),
        )
        thread = GatewayThread(settings).start(ready_timeout_s=None)
        yield thread
        thread.stop()


def test_a_gateway_on_the_repository_answers_failed_precondition_with_the_reason(refusing_gateway: GatewayThread) -> None:
    # UNAVAILABLE ("not loaded yet") is retried until the gateway has read the repository and refused it.
    patient = ClientOptions(address=refusing_gateway.address, timeout=60, retry=RetryPolicy(max_retries=200, initial_backoff=0.1, max_backoff=0.3))
    with Client(patient) as client, pytest.raises(FailedPreconditionError) as refused:
        client.embed_text(["a red circle moving left"])
    assert refused.value.details == REFUSAL
    assert not refusing_gateway.gateway.ready.is_set()


def test_http_answers_412_precondition_failed_with_the_same_reason(refusing_gateway: GatewayThread) -> None:
    def answer() -> httpx.Response:
        return httpx.post(f"{refusing_gateway.http_url}/v1/embeddings", json={"input": "a red circle"}, timeout=30)

    # 503 ("not loaded yet") until the gateway has read the repository and refused it.
    assert wait_until(lambda: answer().status_code != 503, 120)
    refused = answer()
    assert refused.status_code == 412, refused.text
    assert refused.json()["error"] == {"message": REFUSAL, "type": "precondition_failed_error", "code": "failed_precondition", "param": "model text_decoder"}
