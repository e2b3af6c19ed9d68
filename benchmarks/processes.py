"""Run Triton and the gateway as child processes (`jepa-serve triton`, `jepa-serve serve`) so
their CPU time and memory can be measured apart from the load generator's."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import grpc
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc

from jepa_client import Client

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ProcessTreeMeter:
    """CPU seconds and peak resident memory of a process and all its descendants (Triton's
    python-backend stubs, the gateway's decode workers), sampled on a background thread."""

    def __init__(self, pid: int, sample_interval_s: float = 0.25) -> None:
        self.root = psutil.Process(pid)
        self.peak_rss_bytes = 0
        self._finished_cpu: dict[int, float] = {}
        self._last_cpu: dict[int, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_forever, args=(sample_interval_s,), daemon=True)
        self._thread.start()

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _sample(self) -> tuple[int, float]:
        rss, cpu = 0, 0.0
        seen: dict[int, float] = {}
        for process in self._tree():
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    seen[process.pid] = times.user + times.system
                    rss += process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        with self._lock:
            # A child that exited keeps the CPU it used at the last sample.
            for pid, value in self._last_cpu.items():
                if pid not in seen:
                    self._finished_cpu[pid] = value
            self._last_cpu = seen
            cpu = sum(self._finished_cpu.values()) + sum(seen.values())
            self.peak_rss_bytes = max(self.peak_rss_bytes, rss)
        return rss, cpu

    def _sample_forever(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self._sample()

    def cpu_seconds(self) -> float:
        return self._sample()[1]

    @property
    def peak_rss_mib(self) -> float:
        return round(self.peak_rss_bytes / 2**20, 1)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)


class OwnProcessMeter:
    """CPU seconds of this process (the load generator), children excluded."""

    def cpu_seconds(self) -> float:
        return time.process_time()


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class StackStartupError(RuntimeError):
    """Triton or the gateway did not come up; the message carries the tail of its log."""


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class ServedStack:
    """`jepa-serve triton` + `jepa-serve serve` on free loopback ports, with a meter on each."""

    def __init__(self, repository: Path, log_dir: Path, gateway_env: dict[str, str] | None = None, startup_timeout_s: float = 300.0) -> None:
        self.repository = repository.resolve()
        self.startup_timeout_s = startup_timeout_s
        self.log_dir = log_dir
        self.gateway_env = gateway_env or {}
        grpc_port, http_port, metrics_port, gateway_port, gateway_metrics_port, gateway_http_port = free_ports(6)
        self.triton_grpc_url = f"127.0.0.1:{grpc_port}"
        self.triton_http_url = f"http://127.0.0.1:{http_port}"
        self.triton_metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        self.gateway_address = f"127.0.0.1:{gateway_port}"
        self.gateway_metrics_url = f"http://127.0.0.1:{gateway_metrics_port}/metrics"
        self.gateway_http_url = f"http://127.0.0.1:{gateway_http_port}"
        self._ports = (grpc_port, http_port, metrics_port, gateway_port, gateway_metrics_port, gateway_http_port)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.meters: dict[str, ProcessTreeMeter] = {}

    def _spawn(self, name: str, arguments: list[str], environment: dict[str, str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "jepa_server.cli", *arguments],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **environment},
            )
        self.processes[name] = process
        self.meters[name] = ProcessTreeMeter(process.pid)

    def _wait(self, name: str, ready: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise StackStartupError(f"{name} exited with {self.processes[name].returncode}:\n{_log_tail(self.log_dir / f'{name}.log')}")
            if ready():
                return
            time.sleep(0.2)
        raise StackStartupError(f"{name} not ready after {timeout_s:g} s:\n{_log_tail(self.log_dir / f'{name}.log')}")

    def _triton_ready(self) -> bool:
        try:
            with _NO_PROXY.open(f"{self.triton_http_url}/v2/health/ready", timeout=1.0) as response:
                return response.status == 200
        except OSError:
            return False

    def _serving(self, service: str) -> bool:
        with grpc.insecure_channel(self.gateway_address) as channel:
            try:
                answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=1.0)
            except grpc.RpcError:
                return False
        return answer.status == health_pb2.HealthCheckResponse.SERVING

    def _start_gateway(self) -> None:
        _, _, _, gateway_port, gateway_metrics_port, gateway_http_port = self._ports
        self._spawn(
            "gateway",
            ["serve", "--triton-url", self.triton_grpc_url, "--port", str(gateway_port),
             "--metrics-port", str(gateway_metrics_port), "--model-repository", str(self.repository)],
            {"JEPA_MAX_CONCURRENT_REQUESTS": "1024", "JEPA_HTTP_PORT": str(gateway_http_port), **self.gateway_env},
        )
        self._wait("gateway", lambda: self._serving(""), self.startup_timeout_s)

    def restart_gateway(self) -> float:
        """Stop the gateway (SIGTERM), start it again over the same index; seconds from the new
        process to RetrievalService SERVING (its index loaded and answering)."""
        self._stop("gateway")
        started = time.perf_counter()
        self._start_gateway()
        self._wait("gateway", lambda: self._serving("jepa.v1.RetrievalService"), self.startup_timeout_s)
        return time.perf_counter() - started

    def start(self) -> ServedStack:
        timeout_s = self.startup_timeout_s
        grpc_port, http_port, metrics_port = self._ports[:3]
        try:
            self._spawn(
                "triton",
                ["triton", "--repository", str(self.repository), "--grpc-port", str(grpc_port),
                 "--http-port", str(http_port), "--metrics-port", str(metrics_port), "--startup-timeout", str(timeout_s)],
                {},
            )
            self._wait("triton", self._triton_ready, timeout_s)
            self._start_gateway()
        except BaseException:
            self.stop()
            raise
        return self

    def peak_rss_mib(self) -> dict[str, float]:
        return {name: meter.peak_rss_mib for name, meter in self.meters.items()}

    def stop(self) -> None:
        """SIGTERM the gateway, then Triton (each drains and cleans up), SIGKILL after a grace."""
        for name in ("gateway", "triton"):
            self._stop(name)

    def _stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.meters[name].close()

    def __enter__(self) -> ServedStack:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def add_gateway_target(parser: argparse.ArgumentParser) -> None:
    """`--address` of a running gateway, or `--repository` to start Triton and a gateway here."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--address", help="a running gateway serving a VL-JEPA repository")
    target.add_argument("--repository", type=Path, help="start a local Triton and gateway on this repository")


@contextmanager
def served_client(address: str | None, repository: Path | None, scratch: Path) -> Iterator[Client]:
    """A client of the gateway at `address`, or of a fresh stack on `repository` with its own index in `scratch`."""
    if address:
        with Client(address) as client:
            yield client
        return
    if repository is None:
        raise ValueError("repository: needed when no gateway address is given")
    with ServedStack(repository, scratch / "logs", {"JEPA_INDEX_URI": str(scratch / "index.db")}) as stack, Client(stack.gateway_address) as client:
        yield client
