"""Faults with a Triton and gateways of their own (the session ones are left alone): Triton
SIGKILLed under load and restarted, deadlines seen from a proxy in front of Triton, a dead decode
worker, SIGTERM to a `jepa-serve serve` process while Triton holds a call, and readiness that
waits for every model's warm-up; a SIGKILLed gateway leaves no decode worker behind."""

from __future__ import annotations

import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tritonclient.grpc import service_pb2

from jepa_client import Client, ClientOptions, RetryPolicy
from jepa_client.v1 import embedding_pb2
from jepa_server.settings import Settings
from jepa_server.triton_local import LocalTriton, LocalTritonOptions
from support.calls import RawCaller, fresh_index
from support.gateway import GatewayThread
from support.grpc_proxy import RecordingProxy
from support.media import moving_bar_frames, write_video
from support.prometheus_text import sample_value, scrape
from support.waiting import wait_until

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
TEXT = embedding_pb2.EmbedTextRequest(texts=["a dog catches a frisbee"])


def health(channel: grpc.Channel) -> int:
    try:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2).status
    except grpc.RpcError:
        return -1


def wait_for_health(channel: grpc.Channel, status: int, timeout_s: float) -> None:
    assert wait_until(lambda: health(channel) == status, timeout_s), f"health not {status} after {timeout_s} s"


def gateway_answered(gateway: GatewayThread, method: str, code: str) -> float:
    """Calls of `method` the gateway has answered with `code`, from its own metrics."""
    return sample_value(gateway.metrics_text(), "jepa_requests_total", method=method, code=code)


def process_ended(pid: int) -> bool:
    """Gone or a zombie; a process reaped between two looks at it is gone too."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def embed_text(caller: RawCaller, timeout: float = 10.0):
    return caller("EmbedText", TEXT, embedding_pb2.EmbedTextResponse, timeout=timeout)


@pytest.fixture(scope="module")
def fault_triton(cpu_repository: Path) -> Iterator[LocalTriton]:
    with LocalTriton(LocalTritonOptions(repository=cpu_repository, startup_timeout_s=120)) as triton:
        yield triton


@pytest.fixture
def triton(fault_triton: LocalTriton) -> LocalTriton:
    """The module's Triton, running (a test before may have killed it)."""
    if not fault_triton.is_running():
        fault_triton.start()
    return fault_triton


def settings_for(triton: LocalTriton | RecordingProxy, repository: Path, tmp_path_factory: pytest.TempPathFactory, **overrides) -> Settings:
    return Settings(
        port=0, metrics_port=0, triton_url=triton.grpc_url if isinstance(triton, LocalTriton) else triton.address, model_repository=repository, decode_workers=1,
        **fresh_index(Settings, tmp_path_factory), **overrides,
    )


@pytest.fixture(scope="module")
def fault_gateway(fault_triton: LocalTriton, cpu_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayThread]:
    thread = GatewayThread(settings_for(fault_triton, cpu_repository, tmp_path_factory)).start()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def caller(fault_gateway: GatewayThread) -> Iterator[RawCaller]:
    raw = RawCaller(fault_gateway.address)
    yield raw
    raw.close()


def test_triton_sigkilled_under_load_gives_unavailable_in_time_and_the_gateway_recovers_by_itself(triton, fault_gateway, caller) -> None:
    before = embed_text(caller)
    assert isinstance(before, embedding_pb2.EmbedTextResponse), before
    deadline_s = 5.0
    outcomes: list[tuple[str, float]] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            started = time.monotonic()
            result = embed_text(caller, timeout=deadline_s)
            outcomes.append((result.code().name if isinstance(result, grpc.RpcError) else "OK", time.monotonic() - started))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        workers = [pool.submit(load) for _ in range(4)]
        assert wait_until(lambda: len(outcomes) >= 8, timeout_s=30), "no load reached the gateway"
        os.kill(triton.pid, signal.SIGKILL)
        killed_at = len(outcomes)
        # Until every caller has seen the outage (each call ends within its deadline).
        assert wait_until(lambda: sum(code == "UNAVAILABLE" for code, _ in outcomes[killed_at:]) >= 8, timeout_s=4 * deadline_s)
        stop.set()
        for worker in workers:
            worker.result(timeout=deadline_s + 5)

    codes = {code for code, _ in outcomes}
    assert codes <= {"OK", "UNAVAILABLE"}, codes
    assert "UNAVAILABLE" in {code for code, _ in outcomes[killed_at:]}
    assert max(latency for _, latency in outcomes) < deadline_s, "a call hung until its deadline"
    wait_for_health(caller.channel, NOT_SERVING, timeout_s=5)
    down = embed_text(caller)
    assert isinstance(down, grpc.RpcError) and down.code() == grpc.StatusCode.UNAVAILABLE
    assert down.details().startswith("triton: ")

    # An idempotent SDK call made while Triton is down retries UNAVAILABLE with backoff until it is back.
    patient = ClientOptions(address=fault_gateway.address, timeout=90, retry=RetryPolicy(max_retries=100, initial_backoff=0.2, max_backoff=1.0))
    refused_before = gateway_answered(fault_gateway, "EmbedText", "UNAVAILABLE")
    with Client(patient) as client, concurrent.futures.ThreadPoolExecutor(1) as pool:
        retried = pool.submit(client.embed_text, ["a dog catches a frisbee"])
        # The gateway has refused the call twice: the client is retrying, not failing.
        assert wait_until(lambda: gateway_answered(fault_gateway, "EmbedText", "UNAVAILABLE") >= refused_before + 2, timeout_s=30)
        assert not retried.done()
        triton.start()  # same ports; nothing is done to the gateway
        np.testing.assert_allclose(retried.result(90).embeddings[0], before.embeddings[0].values, atol=1e-5)
    wait_for_health(caller.channel, SERVING, timeout_s=60)
    after = embed_text(caller)
    assert isinstance(after, embedding_pb2.EmbedTextResponse), after
    np.testing.assert_allclose(after.embeddings[0].values, before.embeddings[0].values, atol=1e-5)


@pytest.fixture
def proxy(triton: LocalTriton) -> Iterator[RecordingProxy]:
    recording = RecordingProxy(triton.grpc_url)
    yield recording
    recording.close()


def test_the_callers_deadline_travels_to_triton(proxy: RecordingProxy, cpu_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    thread = GatewayThread(settings_for(proxy, cpu_repository, tmp_path_factory, triton_timeout_s=60.0)).start()
    caller = RawCaller(thread.address)
    try:
        for deadline_s in (2.0, None):
            proxy.calls.clear()
            assert isinstance(embed_text(caller, timeout=deadline_s), embedding_pb2.EmbedTextResponse)
            [infer] = [call for call in proxy.calls if call.method.endswith("/ModelInfer")]
            request = service_pb2.ModelInferRequest.FromString(infer.request)
            # Both the gRPC deadline and Triton's own request timeout (microseconds) carry it.
            limit_s = deadline_s or 60.0  # no deadline: triton_timeout_s bounds the call
            assert limit_s - 1.0 < infer.time_remaining <= limit_s + 0.2  # grpc-timeout rounds up a little
            # The gateway reads the remaining time from the same rounded-up grpc-timeout header.
            assert (limit_s - 1.0) * 1e6 < request.parameters["timeout"].int64_param <= (limit_s + 0.2) * 1e6
    finally:
        caller.close()
        thread.stop()


def test_a_dead_decode_worker_costs_one_unavailable_call_then_decoding_works(triton, fault_gateway, caller, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", moving_bar_frames(16), fps=8).read_bytes()
    request = embedding_pb2.EmbedVideoRequest(video={"encoded": video})
    assert isinstance(caller("EmbedVideo", request, embedding_pb2.EmbedVideoResponse), embedding_pb2.EmbedVideoResponse)
    workers = fault_gateway.gateway.preparer.worker_pids()
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: all(map(process_ended, workers)), timeout_s=10)
    failed = caller("EmbedVideo", request, embedding_pb2.EmbedVideoResponse)
    assert isinstance(failed, grpc.RpcError) and failed.code() == grpc.StatusCode.UNAVAILABLE, failed
    assert failed.details().startswith("decoder: ")
    assert isinstance(caller("EmbedVideo", request, embedding_pb2.EmbedVideoResponse), embedding_pb2.EmbedVideoResponse)


def serve_subprocess(triton_url: str, repository: Path, tmp_path: Path, grace_s: float) -> tuple[subprocess.Popen, str]:
    """`jepa-serve serve` in a process of its own; returns it and its address once it listens."""
    environment = {
        **os.environ, "JEPA_SHUTDOWN_GRACE_S": str(grace_s), "JEPA_DECODE_WORKERS": "1", "JEPA_INDEX_URI": str(tmp_path / "index.db"),
    }
    command = [sys.executable, "-m", "jepa_server.cli", "serve", "--triton-url", triton_url, "--port", "0",
               "--metrics-port", "0", "--model-repository", str(repository)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment, text=True)
    line = process.stdout.readline()
    match = re.search(r"gateway on [\d.]+:(\d+)", line)
    assert match, f"no address in {line!r}"
    return process, f"127.0.0.1:{match[1]}"


@pytest.mark.parametrize("grace_s, stall_s", [(8.0, 1.0), (1.0, 6.0)], ids=["call-within-grace", "call-beyond-grace"])
def test_sigterm_drains_in_flight_calls_within_the_grace_period(proxy, cpu_repository: Path, tmp_path: Path, grace_s: float, stall_s: float) -> None:
    process, address = serve_subprocess(proxy.address, cpu_repository, tmp_path, grace_s)
    caller = RawCaller(address)
    try:
        wait_for_health(caller.channel, SERVING, timeout_s=60)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            proxy.hold()  # Triton "stops answering": the call stays in flight in the gateway
            in_flight = pool.submit(embed_text, caller, 30.0)
            assert wait_until(lambda: any(call.method.endswith("/ModelInfer") for call in proxy.calls), timeout_s=10)
            terminated = time.monotonic()
            process.send_signal(signal.SIGTERM)
            # Draining: the gateway takes no new call, not even a health check.
            assert wait_until(lambda: health(caller.channel) == -1, timeout_s=5)
            newcomer = RawCaller(address)
            refused = embed_text(newcomer, timeout=5)
            newcomer.close()
            assert isinstance(refused, grpc.RpcError) and refused.code() == grpc.StatusCode.UNAVAILABLE, refused
            if stall_s < grace_s:
                time.sleep(stall_s)  # the scenario itself: Triton stalls this long, within the grace period
                proxy.release()
                assert isinstance(in_flight.result(10), embedding_pb2.EmbedTextResponse), "an in-flight call was dropped"
            else:
                cut = in_flight.result(grace_s + 10)
                assert isinstance(cut, grpc.RpcError) and cut.code() in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}, cut
            assert process.wait(grace_s + 10) == 0
            assert time.monotonic() - terminated < grace_s + 3.0
    finally:
        proxy.release()
        caller.close()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_sigkilled_gateway_takes_its_decode_workers_with_it(triton, cpu_repository: Path, tmp_path: Path) -> None:
    process, _ = serve_subprocess(triton.grpc_url, cpu_repository, tmp_path, grace_s=1.0)
    try:
        # Listening means started: its decode workers (and multiprocessing's resource tracker) run.
        children = psutil.Process(process.pid).children(recursive=True)
        assert any("spawn_main" in " ".join(child.cmdline()) for child in children), [child.cmdline() for child in children]
        process.kill()
        process.wait()
        assert wait_until(lambda: all(process_ended(child.pid) for child in children), timeout_s=10), [
            child.cmdline() for child in children if not process_ended(child.pid)
        ]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_gateway_is_not_ready_until_every_model_answered_a_warm_up(cpu_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    cold = LocalTriton(LocalTritonOptions(repository=cpu_repository, startup_timeout_s=120))
    thread = GatewayThread(settings_for(cold, cpu_repository, tmp_path_factory)).start(ready_timeout_s=None)
    caller = RawCaller(thread.address)
    try:
        assert health(caller.channel) == NOT_SERVING
        early = embed_text(caller)
        assert isinstance(early, grpc.RpcError) and early.code() == grpc.StatusCode.UNAVAILABLE
        assert early.details() == "triton: the gateway has not loaded its models from Triton yet"
        cold.start()
        wait_for_health(caller.channel, SERVING, timeout_s=60)
        # Nobody but the gateway's warm-up has called Triton: each model has answered already.
        metrics = scrape(cold.metrics_url)
        for model in ("vjepa2_encoder", "text_encoder"):
            assert sample_value(metrics, "nv_inference_request_success", model=model) >= 1, model
    finally:
        caller.close()
        thread.stop()
        cold.stop()
