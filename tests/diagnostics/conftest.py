"""The committed VL-JEPA demo checkpoint, exported and served by a real Triton behind a real
gateway, over a small collection with known trouble (`jepa_export.demo.trouble`) indexed in two
ingests, and every class's caption asked as a query (the gateway samples them)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jepa_export.demo.trouble import TroubleManifest
from support.gateway import GatewayThread

CHECKPOINT = Path(__file__).resolve().parents[2] / "models" / "vljepa-demo"


@dataclass(frozen=True)
class TroubleIndex:
    """The indexed collection's truth, and when the second (drifted) ingest began."""

    manifest: TroubleManifest
    media: Path
    second_ingest_at: float


@pytest.fixture(scope="session")
def demo_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jepa_export.pipeline import run_export
    from jepa_export.settings import ExportSettings

    output_dir = tmp_path_factory.mktemp("vljepa-demo-artifacts")
    report = run_export(ExportSettings(output_dir=output_dir, vljepa=CHECKPOINT, targets=["cpu"], build_precisions=[], tensorrt=False))
    assert report.passed
    return output_dir / "repository" / "cpu"


@pytest.fixture(scope="session")
def trouble_media(tmp_path_factory: pytest.TempPathFactory):
    from jepa_export.demo.trouble import TroubleSettings, write_trouble_collection

    media = tmp_path_factory.mktemp("trouble")
    small = TroubleSettings(first_ingest_videos=60, copies=6, outlier_videos=6, second_ingest_videos=40)
    return media, write_trouble_collection(media, small)


@pytest.fixture(scope="session")
def diagnosed_gateway(demo_repository: Path, trouble_media, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayThread]:
    from jepa_server.settings import Settings
    from jepa_server.triton_local import LocalTriton, LocalTritonOptions

    media, _ = trouble_media
    with LocalTriton(LocalTritonOptions(repository=demo_repository)) as triton:
        settings = Settings(
            port=0, metrics_port=0, triton_url=triton.grpc_url, model_repository=demo_repository, decode_workers=1,
            index_uri=str(tmp_path_factory.mktemp("diagnosed-index") / "index.db"), media_roots=[media], query_sample_size=500,
        )
        gateway = GatewayThread(settings).start()
        yield gateway
        gateway.stop()


@pytest.fixture(scope="session")
def trouble_index(diagnosed_gateway: GatewayThread, trouble_media) -> TroubleIndex:
    from jepa_client import Client, IndexItem
    from jepa_export.demo.grammar import ALL_CLASSES

    media, manifest = trouble_media
    with Client(diagnosed_gateway.address) as client:
        for ingest in (1, 2):
            if ingest == 2:
                time.sleep(0.05)
                second_ingest_at = time.time()
            videos = [video for video in manifest.videos if video.ingest == ingest]
            for start in range(0, len(videos), 32):
                report = client.index_videos([IndexItem(video.file, uri=video.file) for video in videos[start : start + 32]])
                assert not report.failed, report.failed
        for attributes in ALL_CLASSES:
            client.search(attributes.caption(), top_k=3)
    return TroubleIndex(manifest, media, second_ingest_at)
