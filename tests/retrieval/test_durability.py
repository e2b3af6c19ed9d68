"""Acknowledged writes survive SIGKILL: the gateway runs as `jepa-serve serve` in its own process
group, is killed with SIGKILL (workers included) and restarted on the same index (a Milvus Lite
file, or a database on the Milvus server)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from jepa_client import Client, IndexItem, JepaError
from support.media import moving_bar_frames

WINDOWS_PER_VIDEO = 3  # 24 frames at 8 per window


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_serving(address: str, process: subprocess.Popen, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"jepa-serve exited with {process.returncode}")
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"jepa-serve at {address} not serving after {timeout_s} s")


@contextmanager
def serve(index_uri: str, triton_url: str, repository: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`jepa-serve serve` on a free port; yields (address, process). Killed with its group on exit."""
    port = free_port()
    env = {
        **os.environ,
        "JEPA_PORT": str(port), "JEPA_METRICS_PORT": "0", "JEPA_TRITON_URL": triton_url, "JEPA_MODEL_REPOSITORY": str(repository),
        "JEPA_INDEX_URI": index_uri, "JEPA_DECODE_WORKERS": "1",
    }
    command = [str(Path(sys.executable).with_name("jepa-serve")), "serve"]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_serving(f"127.0.0.1:{port}", process)
        yield f"127.0.0.1:{port}", process
    finally:
        sigkill(process)


def sigkill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)


def items(prefix: str, count: int) -> list[IndexItem]:
    return [IndexItem(f"{prefix}/{index}", moving_bar_frames(24, seed=index), frames_fps=8, metadata={"n": index}) for index in range(count)]


@pytest.fixture()
def start(local_triton, cpu_repository: Path, new_index_uri, tmp_path: Path):
    index_uri = new_index_uri()
    return lambda: serve(index_uri, local_triton.grpc_url, cpu_repository, tmp_path / "gateway.log")


def test_every_acknowledged_row_survives_sigkill_right_after_the_ack(start):
    with start() as (address, process), Client(address) as client:
        report = client.index_videos(items("acked", 6))
        reindexed = client.index_videos([IndexItem("acked/0", moving_bar_frames(16, seed=0), frames_fps=8, metadata={"n": "again"})])
        deleted = client.delete_videos("acked/5")
        sigkill(process)  # at once: nothing else happens between the acknowledgement and the kill
    assert all(item.ok for item in report.items) and reindexed.items[0].num_windows == 2
    assert deleted.rows_deleted == WINDOWS_PER_VIDEO
    window = None
    with start() as (address, _), Client(address) as client:
        stats = client.index_stats(ids=[f"acked/{index}" for index in range(6)])
        assert (stats.rows, stats.videos) == (4 * WINDOWS_PER_VIDEO + 2, 5)  # acked/0 re-indexed with 2 windows
        assert stats.indexed_ids == tuple(f"acked/{index}" for index in range(5))
        window = client.embed_video(moving_bar_frames(24, seed=2), frames_fps=8, return_windows=True).windows[1]
        best = client.search(embedding=window.embedding, top_k=1).hits[0]
        assert (best.video_id, best.window_index, best.metadata) == ("acked/2", 1, {"n": 2})
        again = client.search(embedding=window.embedding, filter='video_id == "acked/0"').hits
        assert [hit.metadata for hit in again] == [{"n": "again"}]


def test_a_call_killed_in_flight_leaves_each_video_absent_or_whole(start):
    report: list = []
    with start() as (address, process), Client(address) as client:

        def index_all() -> None:
            try:
                report.append(client.index_videos(items("inflight", 24)))
            except JepaError as error:  # the kill cuts the call
                report.append(error)

        writer = threading.Thread(target=index_all)
        writer.start()
        with Client(address) as observer:
            deadline = time.monotonic() + 60
            while observer.index_stats().videos < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        sigkill(process)
        writer.join(30)
    assert report and isinstance(report[0], JepaError), "the call finished before the kill; nothing was tested"
    with start() as (address, _), Client(address) as client:
        stats = client.index_stats(ids=[f"inflight/{index}" for index in range(24)])
    assert stats.videos >= 2
    assert stats.rows == WINDOWS_PER_VIDEO * stats.videos == WINDOWS_PER_VIDEO * len(stats.indexed_ids)
