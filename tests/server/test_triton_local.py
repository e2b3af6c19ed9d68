"""The local tritonserver launcher, against real tritonserver processes on the CPU."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from jepa_server.triton_local import (
    SHM_DIR,
    LocalTriton,
    LocalTritonOptions,
    TritonStartupError,
)
from support.waiting import wait_until

MODEL_NAME = "double"

CONFIG_PBTXT = f"""
name: "{MODEL_NAME}"
backend: "python"
max_batch_size: 8
input [ {{ name: "x" data_type: TYPE_FP32 dims: [ -1 ] }} ]
output [ {{ name: "y" data_type: TYPE_FP32 dims: [ -1 ] }} ]
dynamic_batching {{ }}
instance_group [ {{ kind: KIND_CPU count: 1 }} ]
"""

DOUBLING_MODEL_PY = """
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "x").as_numpy()
            y = pb_utils.Tensor("y", (x * 2).astype(np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[y]))
        return responses
"""


def write_repository(root: Path, model_py: str) -> Path:
    model_dir = root / MODEL_NAME
    (model_dir / "1").mkdir(parents=True)
    (model_dir / "config.pbtxt").write_text(CONFIG_PBTXT)
    (model_dir / "1" / "model.py").write_text(textwrap.dedent(model_py))
    return root


def failing_model_py(initialize_body: str) -> str:
    return DOUBLING_MODEL_PY + textwrap.indent(
        f"\ndef initialize(self, args):\n{textwrap.indent(initialize_body, '    ')}\n", "    "
    )


def infer_double(grpc_url: str, values: list[float]) -> np.ndarray:
    x = np.array([values], dtype=np.float32)
    with grpcclient.InferenceServerClient(grpc_url) as client:
        inputs = [grpcclient.InferInput("x", list(x.shape), "FP32")]
        inputs[0].set_data_from_numpy(x)
        result = client.infer(MODEL_NAME, inputs, client_timeout=10)
        output = result.as_numpy("y")
        assert output is not None
        return output


def shm_regions(prefix: str) -> list[Path]:
    return sorted(SHM_DIR.glob(f"{prefix}*"))


def processes_in_group(pgid: int) -> list[int]:
    """Live (non-zombie) members of a process group, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.fixture(scope="module")
def doubling_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_repository(tmp_path_factory.mktemp("repository"), DOUBLING_MODEL_PY)


@pytest.fixture(scope="module")
def running_triton(doubling_repository: Path) -> Iterator[LocalTriton]:
    with LocalTriton(LocalTritonOptions(repository=doubling_repository)) as triton:
        yield triton


def test_started_triton_answers_inference_over_grpc(running_triton: LocalTriton) -> None:
    assert running_triton.is_running()
    np.testing.assert_array_equal(
        infer_double(running_triton.grpc_url, [1.0, -2.5, 3.0]), [[2.0, -5.0, 6.0]]
    )


def test_metrics_port_serves_inference_count(running_triton: LocalTriton) -> None:
    infer_double(running_triton.grpc_url, [1.0])
    with urllib.request.urlopen(running_triton.metrics_url, timeout=5) as response:
        metrics = response.read().decode()
    counts = [
        line for line in metrics.splitlines() if line.startswith("nv_inference_count{")
    ]
    assert any(f'model="{MODEL_NAME}"' in line and float(line.split()[-1]) >= 1 for line in counts)
    assert "nv_inference_request_summary_us" in metrics


def test_stop_removes_process_group_and_own_shm_regions(doubling_repository: Path) -> None:
    triton = LocalTriton(LocalTritonOptions(repository=doubling_repository))
    foreign_region = SHM_DIR / f"triton_python_backend_shm_region_not_ours_{os.getpid()}"
    foreign_region.write_bytes(b"")
    try:
        triton.start()
        pid = triton.pid
        assert pid is not None
        prefix = triton.shm_region_prefix
        assert shm_regions(prefix), "the python backend should map a region with our prefix"
        assert len(processes_in_group(pid)) >= 2, "tritonserver and its stub"
        triton.stop()
        assert not triton.is_running()
        assert processes_in_group(pid) == []
        assert shm_regions(prefix) == []
        assert foreign_region.exists(), "regions of other servers are left alone"
    finally:
        triton.stop()
        foreign_region.unlink(missing_ok=True)


def test_model_raising_in_initialize_fails_fast_with_triton_log(tmp_path: Path) -> None:
    repository = write_repository(
        tmp_path, failing_model_py('raise RuntimeError("weights-missing-marker")')
    )
    triton = LocalTriton(LocalTritonOptions(repository=repository, startup_timeout_s=30))
    started = time.monotonic()
    with pytest.raises(TritonStartupError, match="weights-missing-marker") as failure:
        triton.start()
    assert time.monotonic() - started < 20, "exit-on-error must end startup, not the timeout"
    assert "exited with code" in str(failure.value)
    assert not triton.is_running()


def test_hung_startup_times_out_kills_triton_and_reports_stub_output(tmp_path: Path) -> None:
    repository = write_repository(
        tmp_path,
        failing_model_py(
            'import sys, time\nprint("stub-stuck-marker", file=sys.stderr, flush=True)\n'
            "time.sleep(600)"
        ),
    )
    triton = LocalTriton(LocalTritonOptions(repository=repository, startup_timeout_s=4))
    with pytest.raises(TritonStartupError, match="startup_timeout_s") as failure:
        triton.start()
    assert "stub-stuck-marker" in str(failure.value)
    pid = triton.pid
    assert pid is not None
    assert processes_in_group(pid) == [], "the stuck stub is killed with tritonserver"
    assert shm_regions(triton.shm_region_prefix) == []


def test_start_after_sigkill_comes_back_on_same_ports(doubling_repository: Path) -> None:
    with LocalTriton(LocalTritonOptions(repository=doubling_repository)) as triton:
        urls = (triton.grpc_url, triton.http_url, triton.metrics_url)
        infer_double(triton.grpc_url, [1.0])
        first_pid = triton.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        assert wait_until(lambda: not triton.is_running(), timeout_s=5)

        triton.start()

        assert triton.pid != first_pid
        assert (triton.grpc_url, triton.http_url, triton.metrics_url) == urls
        np.testing.assert_array_equal(infer_double(triton.grpc_url, [4.0]), [[8.0]])
        assert processes_in_group(first_pid) == [], "orphaned stubs of the crash are gone"


def test_explicit_mode_serves_only_models_loaded_on_request(doubling_repository: Path) -> None:
    options = LocalTritonOptions(
        repository=doubling_repository, model_control_mode="explicit", log_verbose=1
    )
    with LocalTriton(options) as triton, grpcclient.InferenceServerClient(triton.grpc_url) as client:
        assert not client.is_model_ready(MODEL_NAME)
        client.load_model(MODEL_NAME)
        assert client.is_model_ready(MODEL_NAME)


def test_options_reject_load_models_without_explicit_mode(doubling_repository: Path) -> None:
    with pytest.raises(ValueError, match="load_models"):
        LocalTritonOptions(repository=doubling_repository, load_models=(MODEL_NAME,))


def test_options_reject_equal_ports(doubling_repository: Path) -> None:
    with pytest.raises(ValueError, match="ports must differ"):
        LocalTritonOptions(repository=doubling_repository, grpc_port=9001, http_port=9001)


def test_start_reports_port_in_use(doubling_repository: Path) -> None:
    with socket.socket() as occupier:
        occupier.bind(("127.0.0.1", 0))
        occupier.listen()
        busy_port = occupier.getsockname()[1]
        triton = LocalTriton(LocalTritonOptions(repository=doubling_repository, grpc_port=busy_port))
        with pytest.raises(TritonStartupError, match=f"grpc_port: {busy_port}"):
            triton.start()
        assert triton.pid is None


@contextlib.contextmanager
def triton_runner(command: list[str]) -> Iterator[tuple[subprocess.Popen, int, str]]:
    """A process that runs Triton and prints its ready banner: (the process, tritonserver's pid,
    its gRPC URL); killed on the way out if still running."""
    runner = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert runner.stdout is not None
        banner = runner.stdout.readline()
        assert "tritonserver ready (pid " in banner, runner.stderr.read() if not banner else banner
        yield runner, int(banner.split("(pid ")[1].split(")")[0]), banner.split("grpc ")[1].split(",")[0]
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()


def test_cli_runner_stops_triton_cleanly_on_sigterm(doubling_repository: Path) -> None:
    script = (
        "import sys\n"
        "from jepa_server.triton_local import LocalTritonOptions, run_triton_forever\n"
        "sys.exit(run_triton_forever(LocalTritonOptions(\n"
        f"    repository={str(doubling_repository)!r}, startup_timeout_s=30)))\n"
    )
    with triton_runner([sys.executable, "-c", script]) as (runner, triton_pid, grpc_url):
        np.testing.assert_array_equal(infer_double(grpc_url, [0.5]), [[1.0]])

        runner.send_signal(signal.SIGTERM)

        assert runner.wait(timeout=40) == 0
        assert processes_in_group(triton_pid) == []


def test_triton_and_its_stubs_die_with_a_sigkilled_launcher(doubling_repository: Path) -> None:
    """A launcher killed without a chance to clean up (SIGKILL, the OOM killer) takes its
    tritonserver and python-backend stubs with it instead of leaving them running."""
    with triton_runner([sys.executable, "-m", "jepa_server.cli", "triton", "--repository", str(doubling_repository)]) as (runner, triton_pid, _):
        assert len(processes_in_group(triton_pid)) >= 2, "tritonserver and its stub"

        runner.kill()
        runner.wait()

        assert wait_until(lambda: processes_in_group(triton_pid) == [], timeout_s=30, interval_s=0.2)
