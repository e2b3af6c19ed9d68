"""The http:// index URI: the same gateway against a Milvus server. Milvus Lite also runs as a
standalone gRPC server (`python -m milvus_lite server`), which speaks the Milvus protocol."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jepa_client import Client, IndexItem
from jepa_server.settings import Settings
from support.gateway import GatewayThread
from support.media import moving_bar_frames


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def milvus_server(tmp_path: Path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "milvus"), "--host", "127.0.0.1", "--port", str(port)],
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
