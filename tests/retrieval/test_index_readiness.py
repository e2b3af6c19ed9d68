"""A gateway over a Milvus Lite file that takes seconds to load: it starts at once, serves
embeddings, reports RetrievalService NOT_SERVING while the index loads, then SERVING, and never
exits (it used to: the first check timed out and the start failed)."""

from __future__ import annotations

import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymilvus import DataType, MilvusClient

from jepa_client import Client

RETRIEVAL = "jepa.v1.RetrievalService"
ROWS, DIMENSION = 60_000, 384


def fill_lite_file(path: str) -> None:
    """ROWS rows in one flushed collection, written in bulk, and the file released."""
    client = MilvusClient(path)
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=DIMENSION)
    params = client.prepare_index_params()
    params.add_index("embedding", index_type="FLAT", metric_type="COSINE")
    client.create_collection("bulk", schema=schema, index_params=params)
    vectors = np.random.default_rng(0).normal(size=(ROWS, DIMENSION)).astype(np.float32)
    for start in range(0, ROWS, 10_000):
        client.insert("bulk", [{"id": row, "embedding": vectors[row].tolist()} for row in range(start, start + 10_000)])
    client.flush("bulk")
    client.close()
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(path)


def status(channel: grpc.Channel, service: str) -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


@pytest.mark.parametrize("index_backend", ["milvus-lite"], indirect=True)  # a slow-loading Lite file; a server: test_milvus_server.py
def test_retrieval_is_not_serving_while_a_large_index_loads_then_serving(start_gateway, tmp_path) -> None:
    path = str(tmp_path / "large.db")
    fill_lite_file(path)
    started = time.monotonic()
    gateway = start_gateway(ready_timeout_s=None, index_uri=path, index_health_timeout_s=0.05, index_health_interval_s=0.2)
    seen = []
    with grpc.insecure_channel(gateway.address) as channel:
        while time.monotonic() - started < 120:
            seen.append(status(channel, RETRIEVAL))
            if seen[-1] == health_pb2.HealthCheckResponse.SERVING:
                break
            time.sleep(0.1)
    assert seen[0] == health_pb2.HealthCheckResponse.NOT_SERVING and seen[-1] == health_pb2.HealthCheckResponse.SERVING
    assert gateway._thread.is_alive()
    with Client(gateway.address) as client:
        assert client.embed_video(np.zeros((16, 64, 64, 3), np.uint8), frames_fps=8.0).embedding.shape[0] > 0
        assert client.index_stats().rows == 0  # the gateway's own collection is empty; the large one is another
