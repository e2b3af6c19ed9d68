"""A tiny random VL-JEPA, exported and served by a real Triton behind a real gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from support.gateway import GatewayThread
from support.tiny_vljepa import build_tiny_config


@pytest.fixture(scope="session")
def tiny_vljepa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jepa_export.vljepa.model import VLJepa, save_vljepa

    torch.manual_seed(1)
    return save_vljepa(VLJepa(build_tiny_config()).eval(), tmp_path_factory.mktemp("vljepa") / "tiny")


@pytest.fixture(scope="session")
def vljepa_repository(tmp_path_factory: pytest.TempPathFactory, tiny_vljepa_dir: Path) -> Path:
    from jepa_export.pipeline import run_export
    from jepa_export.settings import ExportSettings

    output_dir = tmp_path_factory.mktemp("vljepa-artifacts")
    report = run_export(ExportSettings(output_dir=output_dir, vljepa=tiny_vljepa_dir, targets=["cpu"], build_precisions=[], tensorrt=False))
    assert report.passed
    return output_dir / "repository" / "cpu"


@pytest.fixture(scope="session")
def vljepa_triton(vljepa_repository: Path) -> Iterator:
    from jepa_server.triton_local import LocalTriton, LocalTritonOptions

    with LocalTriton(LocalTritonOptions(repository=vljepa_repository)) as triton:
        yield triton


@pytest.fixture(scope="session")
def vljepa_gateway(vljepa_triton, vljepa_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayThread]:
    from jepa_server.settings import Settings

    settings = Settings(
        port=0, metrics_port=0, triton_url=vljepa_triton.grpc_url, model_repository=vljepa_repository, decode_workers=1,
        index_uri=str(tmp_path_factory.mktemp("vljepa-index") / "index.db"),
    )
    gateway = GatewayThread(settings).start()
    yield gateway
    gateway.stop()
