"""The http:// index URI: the same gateway against a Milvus server. Milvus Lite also runs as a
standalone gRPC server (`python -m milvus_lite server`), which speaks the Milvus protocol."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from jepa_client import Client, IndexItem
from jepa_client.errors import UnavailableError
from jepa_server.settings import Settings
from support.gateway import GatewayThread
from support.media import moving_bar_frames


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_milvus_server(data_dir: Path, port: int) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert process.poll() is None and time.monotonic() < deadline, "milvus_lite server did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture()
def milvus_server(tmp_path: Path) -> Iterator[str]:
    with running_milvus_server(tmp_path / "milvus", free_port()) as uri:
        yield uri


def test_gateway_indexes_and_searches_a_milvus_server_by_uri(milvus_server, local_triton, cpu_repository, tmp_path):
    settings = Settings(
        port=0, metrics_port=0, triton_url=local_triton.grpc_url, model_repository=cpu_repository, decode_workers=1, index_uri=milvus_server
    )
    gateway = GatewayThread(settings).start()
    try:
        with Client(gateway.address) as client:
            report = client.index_videos([IndexItem(f"server/{seed}", moving_bar_frames(24, seed=seed), frames_fps=8) for seed in (1, 2)])
            assert [item.num_windows for item in report.items] == [3, 3]
            stats = client.index_stats(ids=["server/1", "server/2"])
            assert (stats.backend, stats.index_type, stats.rows, stats.videos) == ("milvus", "HNSW", 6, 2)
            window = client.embed_video(moving_bar_frames(24, seed=2), frames_fps=8, return_windows=True).windows[2]
            best = client.search(embedding=window.embedding, top_k=2).hits[0]
            assert (best.video_id, best.window_index) == ("server/2", 2)
            assert best.score == pytest.approx(1.0, abs=1e-3)  # HNSW: approximate, but exact on 6 rows
            assert client.delete_videos("server/1").rows_deleted == 3
            assert [hit.video_id for hit in client.search(embedding=np.ones(64, np.float32)).hits] == ["server/2"]
    finally:
        gateway.stop()


def wait_for_retrieval_health(channel: grpc.Channel, expected: int, timeout_s: float = 30.0) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + timeout_s
    while (status := stub.Check(health_pb2.HealthCheckRequest(service="jepa.v1.RetrievalService"), timeout=5).status) != expected:
        assert time.monotonic() < deadline, f"RetrievalService health stayed {status}, expected {expected}"
        time.sleep(0.2)


def test_retrieval_health_follows_the_milvus_server_while_embedding_keeps_serving(local_triton, cpu_repository, tmp_path):
    port = free_port()
    settings = Settings(
        port=0, metrics_port=0, triton_url=local_triton.grpc_url, model_repository=cpu_repository, decode_workers=1,
        index_uri=f"http://127.0.0.1:{port}", index_health_interval_s=0.3,
    )
    gateway = GatewayThread(settings).start()
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    try:
        with Client(gateway.address) as client, grpc.insecure_channel(gateway.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            wait_for_retrieval_health(channel, not_serving)
            assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == serving
            assert len(client.embed_video(moving_bar_frames(8, seed=3), frames_fps=8).embedding) == 64
            with pytest.raises(UnavailableError, match="index: milvus"):
                client.search(embedding=np.ones(64, np.float32))
            assert "jepa_index_up 0.0" in gateway.metrics_text()

            with running_milvus_server(tmp_path / "milvus", port):
                wait_for_retrieval_health(channel, serving)
                assert "jepa_index_up 1.0" in gateway.metrics_text()
                client.index_videos([IndexItem("kept/1", moving_bar_frames(16, seed=4), frames_fps=8)])
            wait_for_retrieval_health(channel, not_serving)

            with running_milvus_server(tmp_path / "milvus", port):
                wait_for_retrieval_health(channel, serving)
                assert client.index_stats(ids=["kept/1"]).rows == 2
    finally:
        gateway.stop()
