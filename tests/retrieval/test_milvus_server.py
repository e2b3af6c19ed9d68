"""The gateway against a real Milvus server (2.3.5 standalone, the same server code as a cluster):
the index really built there, retrieval health following the server, rows surviving a restart."""

from __future__ import annotations

import socket
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymilvus import MilvusClient

from jepa_client import Client, IndexItem
from jepa_client.errors import UnavailableError
from jepa_server.index.milvus import server_address
from jepa_server.settings import Settings
from support.gateway import GatewayThread
from support.media import moving_bar_frames

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_retrieval_health(channel: grpc.Channel, expected: int, timeout_s: float = 60.0) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + timeout_s
    while (status := stub.Check(health_pb2.HealthCheckRequest(service="jepa.v1.RetrievalService"), timeout=5).status) != expected:
        assert time.monotonic() < deadline, f"RetrievalService health stayed {status}, expected {expected}"
        time.sleep(0.2)


@pytest.mark.parametrize(("index_type", "build_params"), [("", {}), ("IVF_FLAT", {"nlist": 16})])
def test_the_configured_index_is_built_on_the_server(milvus_standalone, local_triton, cpu_repository, index_type, build_params):
    uri = milvus_standalone.new_database_uri("built")
    settings = Settings(
        port=0, metrics_port=0, triton_url=local_triton.grpc_url, model_repository=cpu_repository, decode_workers=1,
        index_uri=uri, index_type=index_type, index_build_params=build_params,
    )
    gateway = GatewayThread(settings).start()
    try:
        with Client(gateway.address) as client:
            report = client.index_videos([IndexItem(f"server/{seed}", moving_bar_frames(24, seed=seed), frames_fps=8) for seed in (1, 2)])
            assert [item.num_windows for item in report.items] == [3, 3]
            stats = client.index_stats(ids=["server/1", "server/2"])
            assert (stats.backend, stats.index_type, stats.rows, stats.videos) == ("milvus", index_type or "HNSW", 6, 2)
            window = client.embed_video(moving_bar_frames(24, seed=2), frames_fps=8, return_windows=True).windows[2]
            best = client.search(embedding=window.embedding, top_k=2).hits[0]
            assert (best.video_id, best.window_index) == ("server/2", 2)
            assert best.score == pytest.approx(1.0, abs=1e-3)
    finally:
        gateway.stop()
    address, database = server_address(uri)
    milvus = MilvusClient(address, db_name=database)
    try:
        (collection,) = milvus.list_collections()
        described = milvus.describe_index(collection, milvus.list_indexes(collection)[0])
        assert described["index_type"] == (index_type or "HNSW") and described["metric_type"] == "COSINE"
        assert {key: int(described[key]) for key in (build_params or {"M": 0, "efConstruction": 0})} == (build_params or {"M": 16, "efConstruction": 200})
    finally:
        milvus.close()


def test_a_gateway_starts_before_its_server_and_serves_embeddings_meanwhile(local_triton, cpu_repository):
    settings = Settings(
        port=0, metrics_port=0, triton_url=local_triton.grpc_url, model_repository=cpu_repository, decode_workers=1,
        index_uri=f"http://127.0.0.1:{free_port()}/nothing_there", index_health_interval_s=0.3,
    )
    gateway = GatewayThread(settings).start()
    try:
        with Client(gateway.address) as client, grpc.insecure_channel(gateway.address) as channel:
            wait_for_retrieval_health(channel, NOT_SERVING)
            assert health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status == SERVING
            assert len(client.embed_video(moving_bar_frames(8, seed=3), frames_fps=8).embedding) == 64
            with pytest.raises(UnavailableError, match="index: milvus"):
                client.search(embedding=np.ones(64, np.float32))
            assert "jepa_index_up 0.0" in gateway.metrics_text()
    finally:
        gateway.stop()


def test_retrieval_health_follows_the_server_and_rows_survive_its_restart(milvus_standalone, local_triton, cpu_repository):
    settings = Settings(
        port=0, metrics_port=0, triton_url=local_triton.grpc_url, model_repository=cpu_repository, decode_workers=1,
        index_uri=milvus_standalone.new_database_uri("restarts"), index_health_interval_s=0.3,
    )
    gateway = GatewayThread(settings).start()
    try:
        with Client(gateway.address) as client, grpc.insecure_channel(gateway.address) as channel:
            wait_for_retrieval_health(channel, SERVING)
            assert "jepa_index_up 1.0" in gateway.metrics_text()
            client.index_videos([IndexItem("kept/1", moving_bar_frames(16, seed=4), frames_fps=8)])
            milvus_standalone.stop()
            wait_for_retrieval_health(channel, NOT_SERVING)
            assert "jepa_index_up 0.0" in gateway.metrics_text()

            milvus_standalone.start()
            wait_for_retrieval_health(channel, SERVING)
            assert client.index_stats(ids=["kept/1"]).indexed_ids == ("kept/1",)
            query = client.embed_video(moving_bar_frames(16, seed=4), frames_fps=8).embedding
            assert client.search(embedding=np.asarray(query), top_k=1).hits[0].video_id == "kept/1"
    finally:
        gateway.stop()
