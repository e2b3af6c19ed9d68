"""Client-side load balancing over several gateways (real gRPC, real gateways on one Triton): calls
go round-robin, and a gateway that stops is skipped without a failed call."""

from __future__ import annotations

import re

import pytest

from jepa_client import Client, ClientOptions


def embed_text_calls(gateway) -> int:
    pattern = re.compile(r'^jepa_requests_total\{[^}]*method="EmbedText"[^}]*\} ([0-9.e+]+)$', re.MULTILINE)
    return int(sum(float(value) for value in pattern.findall(gateway.metrics_text())))


def test_calls_go_round_robin_and_skip_a_gateway_that_stopped(start_gateway) -> None:
    first, second = start_gateway(), start_gateway()
    with Client(f"{first.address},{second.address}") as client:
        for _ in range(20):
            client.embed_text("a red circle")
        spread = [embed_text_calls(first), embed_text_calls(second)]
        assert sum(spread) == 20 and min(spread) >= 8
        second.stop()
        for _ in range(10):
            client.embed_text("a blue square")
    assert embed_text_calls(first) == spread[0] + 10


@pytest.mark.parametrize("address", ["127.0.0.1:1,nonsense", "127.0.0.1:1,host:port"])
def test_a_list_entry_without_a_port_is_refused_naming_the_address(address: str) -> None:
    with pytest.raises(ValueError, match="address"):
        ClientOptions(address=address).target()
