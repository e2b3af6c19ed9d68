"""The retrieval suite runs on both index backends (`index_backend`): a Milvus Lite file and a
real Milvus server (2.3.5 standalone), each gateway with an index of its own.

A repository whose video and text models share one embedding space, so that text search runs:
`pooled_video` (benchmarks/standin.py) stands in for a VL-JEPA video pipeline. Its scores mean
nothing; it exercises every step of text search and of the served evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from benchmarks.standin import standin_video_model
from support.gateway import GatewayThread
from support.repository import copy_model, read_config

FRAMES, CROP, TEXT_DIMENSION = 8, 64, 384
INDEX_BACKENDS = ["milvus-lite", "milvus"]


@pytest.fixture(scope="session", params=INDEX_BACKENDS)
def index_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def new_index_uri(index_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], str]:
    """new_index_uri() -> the URI of an empty index on the backend: a new Lite file, or a new
    database on the session's Milvus server."""
    if index_backend == "milvus":
        return request.getfixturevalue("milvus_standalone").new_database_uri
    return lambda: str(tmp_path_factory.mktemp("index") / "index.db")


@pytest.fixture(scope="session")
def gateway(local_triton, cpu_repository: Path, new_index_uri: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayThread]:
    """The session gateway's twin, over an index of the backend under test."""
    from jepa_server.settings import Settings

    settings = Settings(
        port=0, metrics_port=0, triton_url=local_triton.grpc_url, model_repository=cpu_repository,
        decode_workers=1, media_roots=[tmp_path_factory.mktemp("media")], index_uri=new_index_uri(),
    )
    thread = GatewayThread(settings).start()
    yield thread
    thread.stop()


@pytest.fixture(scope="session")
def shared_space_repository(cpu_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    repository = tmp_path_factory.mktemp("shared-space-repository")
    text_space = read_config(copy_model(cpu_repository, "text_encoder", repository)).parameters["jepa.embedding_space"].string_value
    standin_video_model(cpu_repository / "vjepa2_encoder", repository, "pooled_video", text_space, TEXT_DIMENSION, FRAMES, CROP)
    return repository


@pytest.fixture(scope="session")
def shared_space_triton(shared_space_repository: Path) -> Iterator:
    from jepa_server.triton_local import LocalTriton, LocalTritonOptions

    with LocalTriton(LocalTritonOptions(repository=shared_space_repository, startup_timeout_s=120)) as triton:
        yield triton


@pytest.fixture(scope="session")
def shared_space_gateway(
    shared_space_triton, shared_space_repository: Path, new_index_uri: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayThread]:
    from jepa_server.settings import Settings

    settings = Settings(
        port=0, metrics_port=0, triton_url=shared_space_triton.grpc_url, model_repository=shared_space_repository, decode_workers=1,
        index_uri=new_index_uri(), media_roots=[tmp_path_factory.mktemp("shared-space-media")],
    )
    gateway = GatewayThread(settings).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def event_videos(shared_space_gateway: GatewayThread) -> dict[str, Path]:
    """Videos under the shared-space gateway's media root, indexed by URI: a moving bar between a
    blue and a yellow stretch (colours the pooled model tells apart), so that each video has
    moments shorter than itself."""
    from jepa_client import Client, IndexItem
    from support.media import moving_bar_frames, write_video

    root = shared_space_gateway.settings.media_roots[0]
    blue, yellow = np.zeros((16, 96, 128, 3), np.uint8), np.zeros((16, 96, 128, 3), np.uint8)
    blue[..., 2] = 255
    yellow[..., :2] = 255
    videos = {
        f"events/{seed}": write_video(root / f"event-{seed}.mp4", np.concatenate([blue, moving_bar_frames(24, seed=seed), yellow]), fps=8)
        for seed in (31, 32, 33)
    }
    with Client(shared_space_gateway.address) as client:
        report = client.index_videos(IndexItem(video_id, uri=path.name, metadata={"kind": "event"}) for video_id, path in videos.items())
    assert all(item.ok for item in report.items), report
    return videos
