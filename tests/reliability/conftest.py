"""Gateways with settings of their own (small limits, TLS, tokens) in front of the session Triton,
and a raw caller of the session gateway."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from support.calls import RawCaller, fresh_index
from support.gateway import GatewayThread


@pytest.fixture(scope="module")
def start_gateway(gateway: GatewayThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., GatewayThread]]:
    """start_gateway(**settings) -> a gateway like the session one (same Triton, same media root)
    with those settings changed; stopped when the module ends."""
    from jepa_server.settings import Settings

    started: list[GatewayThread] = []

    def start(ready_timeout_s: float | None = 120.0, **overrides: Any) -> GatewayThread:
        fields = {**gateway.settings.model_dump(), "port": 0, "metrics_port": 0, **fresh_index(Settings, tmp_path_factory), **overrides}
        thread = GatewayThread(Settings(**fields))
        started.append(thread)
        return thread.start(ready_timeout_s)

    yield start
    for thread in started:
        thread.stop()


@pytest.fixture(scope="module")
def raw_caller(gateway: GatewayThread) -> Iterator[RawCaller]:
    caller = RawCaller(gateway.address)
    yield caller
    caller.close()
