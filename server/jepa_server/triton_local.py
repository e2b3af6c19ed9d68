"""Run the `tritonserver` bundled in the nvidia-pytriton wheel on the CPU, as a child process.

The wheel ships Triton 2.51 with only the python backend, so this module builds a backends
directory of its own (the backend library plus the stub for the running Python), sets the library
path the stub needs, waits for readiness with a hard deadline (a stub that cannot load makes
Triton hang at "loading" instead of exiting), and on stop removes the processes and the shared
memory regions it created. Ports are chosen once per `LocalTriton`, so a restart after a crash
comes back on the same addresses.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType, TracebackType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, DirectoryPath, Field, model_validator

SHM_DIR = Path("/dev/shm")
LOG_TAIL_LINES = 30
_READY_POLL_S = 0.1
_KILL_GRACE_S = 2.0

OptionalPort = Annotated[int | None, Field(ge=1, le=65535)]


class TritonStartupError(RuntimeError):
    """tritonserver exited or did not become ready in time; the message carries its log tail."""


class LocalTritonOptions(BaseModel):
    """How to run the local tritonserver.

    repository: the model repository Triton serves.
    address: where all three endpoints listen; loopback by default.
    grpc_port, http_port, metrics_port: left out, free ones are picked at the first start and
        kept for every later start of the same `LocalTriton`.
    startup_timeout_s: hard limit on reaching readiness (a stub that cannot load never fails).
    stop_timeout_s: Triton's own drain limit (`--exit-timeout-secs`); SIGKILL comes shortly after.
    log_file: where Triton's output is appended; by default a file in a private work dir that
        `stop()` removes (startup errors carry its tail either way).
    log_verbose: Triton's `--log-verbose` level.
    model_control_mode, load_models: `explicit` loads only `load_models` (or what clients load).
    exit_on_error: Triton exits when a model fails to load, so startup fails fast.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    repository: DirectoryPath
    address: str = "127.0.0.1"
    grpc_port: OptionalPort = None
    http_port: OptionalPort = None
    metrics_port: OptionalPort = None
    startup_timeout_s: float = Field(default=120.0, gt=0)
    stop_timeout_s: float = Field(default=30.0, gt=0)
    log_file: Path | None = None
    log_verbose: int = Field(default=0, ge=0)
    model_control_mode: Literal["none", "explicit"] = "none"
    load_models: tuple[str, ...] = ()
    exit_on_error: bool = True

    @model_validator(mode="after")
    def _check_consistency(self) -> LocalTritonOptions:
        given = {
            name: port
            for name, port in (
                ("grpc_port", self.grpc_port),
                ("http_port", self.http_port),
                ("metrics_port", self.metrics_port),
            )
            if port is not None
        }
        if len(set(given.values())) < len(given):
            raise ValueError(f"ports must differ: got {given}")
        if self.load_models and self.model_control_mode != "explicit":
            raise ValueError(
                f"load_models: got {list(self.load_models)}, needs model_control_mode='explicit'"
            )
        return self


class TritonPorts(BaseModel):
    """The ports one `LocalTriton` listens on, fixed at its first start."""

    model_config = ConfigDict(frozen=True)

    grpc: int
    http: int
    metrics: int


class _Distribution(BaseModel):
    """Where the wheel keeps the binary, the python backend and its per-Python stubs."""

    model_config = ConfigDict(frozen=True)

    tritonserver: Path
    python_backend: Path
    stub: Path
    libs: Path

    @classmethod
    @functools.cache
    def locate(cls) -> _Distribution:
        spec = importlib.util.find_spec("pytriton")
        if spec is None or not spec.submodule_search_locations:
            raise TritonStartupError("nvidia-pytriton is not installed: it provides tritonserver")
        package = Path(next(iter(spec.submodule_search_locations)))
        dist = package / "tritonserver"
        python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
        located = cls(
            tritonserver=dist / "bin" / "tritonserver",
            python_backend=dist / "backends" / "python",
            stub=dist / "python_backend_stubs" / python_version / "triton_python_backend_stub",
            libs=package.parent / "nvidia_pytriton.libs",
        )
        missing = [str(path) for path in located.model_dump().values() if not path.exists()]
        if missing:
            raise TritonStartupError(f"nvidia-pytriton for Python {python_version} lacks {missing}")
        return located


class LocalTriton:
    """One tritonserver child process; `start()` may be called again after `stop()` or a crash.

    `grpc_url` is `host:port` (the form tritonclient.grpc takes); `http_url` and `metrics_url`
    are full URLs (`http://host:port`, `http://host:port/metrics`).
    """

    def __init__(self, options: LocalTritonOptions) -> None:
        self.options = options
        self._shm_prefix = f"jepa_triton_{os.getpid()}_{secrets.token_hex(4)}_"
        self._ports: TritonPorts | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log_offset = 0

    def __enter__(self) -> LocalTriton:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def ports(self) -> TritonPorts:
        if self._ports is None:
            self._ports = _choose_ports(self.options)
        return self._ports

    @property
    def grpc_url(self) -> str:
        return f"{self._connect_host}:{self.ports.grpc}"

    @property
    def http_url(self) -> str:
        return f"http://{self._connect_host}:{self.ports.http}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self._connect_host}:{self.ports.metrics}/metrics"

    @property
    def pid(self) -> int | None:
        """The process id of the latest start, or None before the first."""
        return None if self._process is None else self._process.pid

    @property
    def log_path(self) -> Path | None:
        """Where Triton's stdout and stderr go (inside a private work dir unless `log_file`)."""
        if self.options.log_file is not None:
            return self.options.log_file
        return None if self._workdir is None else self._workdir / "tritonserver.log"

    @property
    def shm_region_prefix(self) -> str:
        """Name prefix of this instance's python-backend regions in /dev/shm (removed on stop)."""
        return self._shm_prefix

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Launch tritonserver and block until it is ready; on failure leave nothing behind."""
        if self.is_running():
            raise RuntimeError(f"tritonserver already running with pid {self.pid}")
        self._release_processes()
        self._remove_shm_regions()
        self._ensure_ports_free()
        command = self._command(self._prepare_workdir())
        log_path = self.log_path
        assert log_path is not None
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self._log_offset = log.tell()
            self._process = subprocess.Popen(
                [sys.executable, "-m", "jepa_server.die_with_parent", str(os.getpid()), "--", *command],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_environment(),
                start_new_session=True,  # one process group with its stubs, killed as a whole
            )
        atexit.register(self.stop)
        try:
            self._wait_until_ready()
        except BaseException:
            self._kill()
            self._cleanup()
            raise

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after `stop_timeout_s`; remove our shm regions and work dir."""
        atexit.unregister(self.stop)
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.options.stop_timeout_s + _KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                self._kill()
        self._release_processes()
        self._cleanup()

    def log_tail(self) -> str:
        """The last lines this start wrote to the log, without Triton's status tables."""
        log_path = self.log_path
        if log_path is None or not log_path.exists():
            return ""
        with log_path.open("rb") as log:
            log.seek(self._log_offset)
            text = log.read().decode("utf-8", errors="replace")
        lines = [
            line
            for line in text.splitlines()
            if line.strip() and not line.startswith(("+", "|")) and not line.endswith("] ")
        ]
        return "\n".join(lines[-LOG_TAIL_LINES:])

    @property
    def _connect_host(self) -> str:
        return "127.0.0.1" if self.options.address in ("0.0.0.0", "") else self.options.address

    def _command(self, backend_directory: Path) -> list[str]:
        options = self.options
        ports = self.ports
        command = [
            str(_Distribution.locate().tritonserver),
            f"--model-repository={options.repository.resolve()}",
            f"--backend-directory={backend_directory}",
            f"--backend-config=python,shm-region-prefix-name={self._shm_prefix}",
            "--allow-gpu-metrics=false",
            "--metrics-config=summary_latencies=true",
            f"--grpc-address={options.address}",
            f"--grpc-port={ports.grpc}",
            f"--http-address={options.address}",
            f"--http-port={ports.http}",
            f"--metrics-address={options.address}",
            f"--metrics-port={ports.metrics}",
            f"--exit-on-error={str(options.exit_on_error).lower()}",
            f"--exit-timeout-secs={max(1, int(options.stop_timeout_s))}",
            f"--log-verbose={options.log_verbose}",
            f"--model-control-mode={options.model_control_mode}",
        ]
        command += [f"--load-model={name}" for name in options.load_models]
        return command

    def _prepare_workdir(self) -> Path:
        """A backends dir holding links to the python backend and to this Python's stub."""
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="jepa-triton-"))
        backend = self._workdir / "backends" / "python"
        if not backend.exists():
            distribution = _Distribution.locate()
            backend.mkdir(parents=True)
            for source in distribution.python_backend.iterdir():
                if source.is_file():
                    (backend / source.name).symlink_to(source)
            (backend / distribution.stub.name).symlink_to(distribution.stub)
        return self._workdir / "backends"

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        timeout_s = self.options.startup_timeout_s
        deadline = time.monotonic() + timeout_s
        ready_url = f"{self.http_url}/v2/health/ready"
        while time.monotonic() < deadline:
            returncode = self._process.poll()
            if returncode is not None:
                raise TritonStartupError(
                    f"tritonserver exited with code {returncode} during startup"
                    f"{self._log_reference()}:\n{self.log_tail()}"
                )
            if _answers_ok(ready_url):
                return
            time.sleep(_READY_POLL_S)
        raise TritonStartupError(
            f"startup_timeout_s: tritonserver not ready after {timeout_s:g} s (a python backend "
            f"stub that cannot load hangs at 'loading'){self._log_reference()}:\n{self.log_tail()}"
        )

    def _log_reference(self) -> str:
        return f" (log: {self.options.log_file})" if self.options.log_file is not None else ""

    def _ensure_ports_free(self) -> None:
        for name, port in self.ports.model_dump().items():
            if not _port_is_free(self.options.address, port):
                raise TritonStartupError(f"{name}_port: {port} on {self.options.address} is in use")

    def _kill(self) -> None:
        """SIGKILL the whole process group: tritonserver and its python backend stubs."""
        if self._process is None:
            return
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._process.wait()

    def _release_processes(self) -> None:
        """Reap an exited tritonserver and kill stubs it orphaned (they share its group)."""
        if self._process is not None and self._process.poll() is not None:
            self._kill()

    def _remove_shm_regions(self) -> None:
        for region in SHM_DIR.glob(f"{self._shm_prefix}*"):
            region.unlink(missing_ok=True)

    def _cleanup(self) -> None:
        self._remove_shm_regions()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


def run_triton_forever(options: LocalTritonOptions) -> int:
    """Serve until SIGINT or SIGTERM (exit 0); 1 when Triton fails to start or dies on its own."""
    triton = LocalTriton(options)
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.getsignal(signum) for signum in handled}
    for signum in handled:
        signal.signal(signum, _raise_stop_requested)
    try:
        triton.start()
        print(
            f"tritonserver ready (pid {triton.pid}): grpc {triton.grpc_url}, "
            f"http {triton.http_url}, metrics {triton.metrics_url}",
            flush=True,
        )
        while triton.is_running():
            time.sleep(0.5)
        print(
            f"tritonserver exited on its own with code {triton.returncode}:\n{triton.log_tail()}",
            file=sys.stderr,
        )
        return 1
    except TritonStartupError as error:
        print(error, file=sys.stderr)
        return 1
    except _StopRequested:
        return 0
    finally:
        for signum in handled:
            signal.signal(signum, signal.SIG_IGN)
        triton.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _StopRequested(Exception):
    """Raised by the signal handler so a wait anywhere (startup included) unwinds to stop()."""


def _raise_stop_requested(signum: int, frame: FrameType | None) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def _environment() -> dict[str, str]:
    """The stub needs this interpreter's libpython (LIBDIR) and the wheel's libraries first."""
    distribution = _Distribution.locate()
    environment = dict(os.environ)
    library_path = [str(sysconfig.get_config_var("LIBDIR")), str(distribution.libs)]
    if environment.get("LD_LIBRARY_PATH"):
        library_path.append(environment["LD_LIBRARY_PATH"])
    environment["LD_LIBRARY_PATH"] = os.pathsep.join(library_path)
    environment["PATH"] = os.pathsep.join([sysconfig.get_path("scripts"), environment["PATH"]])
    return environment


def _choose_ports(options: LocalTritonOptions) -> TritonPorts:
    """Given ports as they are, the others free ones (held open together, so they differ)."""
    with contextlib.ExitStack() as stack:
        def free_port() -> int:
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((options.address, 0))
            return int(sock.getsockname()[1])

        return TritonPorts(
            grpc=options.grpc_port or free_port(),
            http=options.http_port or free_port(),
            metrics=options.metrics_port or free_port(),
        )


def _port_is_free(address: str, port: int) -> bool:
    """Bindable the way servers bind (SO_REUSEADDR), so TIME_WAIT after a crash does not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False
        return True


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers_ok(url: str) -> bool:
    """HTTP 200 from `url`, asked directly: an http_proxy setting must not see loopback calls."""
    try:
        with _NO_PROXY_OPENER.open(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
