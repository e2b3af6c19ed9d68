"""A real gateway over the tiny world model that support.world exports and serves in a real Triton."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.gateway import GatewayThread


@pytest.fixture(scope="session")
def world_gateway(world_triton, world_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayThread]:
    from jepa_server.settings import Settings

    settings = Settings(
        port=0, metrics_port=0, triton_url=world_triton.grpc_url, model_repository=world_repository, decode_workers=1,
        index_uri=str(tmp_path_factory.mktemp("world-index") / "index.db"),
    )
    thread = GatewayThread(settings).start()
    yield thread
    thread.stop()
