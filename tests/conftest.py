"""Session fixtures: one exported tiny repository, one real local Triton, one real gateway."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.calls import fresh_index
from support.gateway import GatewayThread
from benchmarks.milvus_server import MilvusStandalone

pytest_plugins = ["support.skip_summary", "support.browser", "support.world"]

# Every gateway a test starts (and every `jepa-serve` it runs) puts its HTTP front end on a free port.
os.environ.setdefault("JEPA_HTTP_PORT", "0")


@pytest.fixture(scope="session")
def tiny_vjepa2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jepa_export.checkpoints import save_random_vjepa2

    return save_random_vjepa2(tmp_path_factory.mktemp("checkpoints") / "vjepa2-tiny", "tiny", seed=0)


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_vjepa2_dir: Path):
    """A tiny random V-JEPA 2 and the bundled MiniLM, exported for both targets (MiniLM declared
    cuttable to 128 and 64 dimensions, so that `dimensions` has sizes to test)."""
    from jepa_export.pipeline import run_export
    from jepa_export.settings import ExportSettings

    output_dir = tmp_path_factory.mktemp("artifacts")
    settings = ExportSettings(output_dir=output_dir, vjepa2=tiny_vjepa2_dir, max_queue_delay_microseconds=2000, text_matryoshka_dimensions=[128, 64])
    report = run_export(settings)
    return output_dir, report


@pytest.fixture(scope="session")
def cpu_repository(exported) -> Path:
    return exported[0] / "repository" / "cpu"


@pytest.fixture(scope="session")
def local_triton(cpu_repository: Path) -> Iterator:
    from jepa_server.triton_local import LocalTriton, LocalTritonOptions

    with LocalTriton(LocalTritonOptions(repository=cpu_repository, startup_timeout_s=120)) as triton:
        yield triton


@pytest.fixture(scope="session")
def milvus_standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStandalone]:
    """One Milvus server for the session (started on first use); `new_database_uri()` per gateway."""
    with MilvusStandalone(tmp_path_factory.mktemp("milvus-standalone")) as server:
        yield server


@pytest.fixture(scope="session")
def gateway(local_triton, cpu_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayThread]:
    from jepa_server.settings import Settings

    media_root = tmp_path_factory.mktemp("media")
    settings = Settings(
        port=0, metrics_port=0, triton_url=local_triton.grpc_url, model_repository=cpu_repository,
        decode_workers=1, media_roots=[media_root], index_uri=str(tmp_path_factory.mktemp("index") / "index.db"),
    )
    thread = GatewayThread(settings).start()
    yield thread
    thread.stop()


@pytest.fixture()
def client(gateway: GatewayThread):
    from jepa_client import Client

    with Client(gateway.address) as connected:
        yield connected


@pytest.fixture(scope="module")
def http_client(gateway: GatewayThread) -> Iterator:
    """Plain HTTP to the session gateway's HTTP front end."""
    import httpx

    with httpx.Client(base_url=gateway.http_url, timeout=60) as connected:
        yield connected


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
