"""A gateway in front of two Triton replicas (real tritonservers on one repository): calls spread
over both, and when one is killed every call still succeeds on the other; it comes back into turn
once it answers again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.error import URLError

import pytest

from jepa_client import Client
from jepa_server.triton_local import LocalTriton, LocalTritonOptions
from support.prometheus_text import sample_value, scrape
from support.waiting import wait_until

TEXTS = ["a dog runs", "a cat sleeps"]


def text_inferences(triton: LocalTriton) -> float:
    """Requests the replica's text encoder served, from Triton's own counter (its metrics endpoint
    can open a moment after Triton reports ready)."""
    scraped: list[str] = []

    def scraped_once() -> bool:
        try:
            scraped.append(scrape(triton.metrics_url))
        except URLError:
            return False
        return True

    assert wait_until(scraped_once, timeout_s=10, interval_s=0.2), f"no metrics at {triton.metrics_url}"
    return sample_value(scraped[-1], "nv_inference_request_success", model="text_encoder")


@pytest.fixture()
def two_tritons(cpu_repository: Path) -> Iterator[tuple[LocalTriton, LocalTriton]]:
    with LocalTriton(LocalTritonOptions(repository=cpu_repository)) as first, LocalTriton(LocalTritonOptions(repository=cpu_repository)) as second:
        yield first, second


def test_calls_spread_over_replicas_and_fail_over_when_one_dies(two_tritons, start_gateway) -> None:
    first, second = two_tritons
    gateway = start_gateway(triton_url=f"{first.grpc_url},{second.grpc_url}")
    with Client(gateway.address) as client:
        before = [text_inferences(first), text_inferences(second)]
        for _ in range(20):
            client.embed_text(TEXTS)
        served = [text_inferences(first) - before[0], text_inferences(second) - before[1]]
        assert sum(served) >= 20 and min(served) >= 5

        first.stop()
        for _ in range(20):  # every call succeeds: the dead replica's share goes to the other
            assert client.embed_text(TEXTS).embeddings.shape[0] == len(TEXTS)

        first.start()  # same ports; the gateway's readiness poll brings it back into turn
        restarted = text_inferences(first)

        def first_serves_again() -> bool:
            client.embed_text(TEXTS)
            return text_inferences(first) > restarted

        assert wait_until(first_serves_again, timeout_s=30)
