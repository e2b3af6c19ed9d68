"""Run every artifact and its PyTorch fp32 source on the same inputs and measure how far they drift.

Per input set: the largest absolute difference and the lowest row cosine of the embedding (the
first output), and the lowest cosine of every other output (V-JEPA 2's visual tokens). Over all
rows together: whether each row keeps its nearest neighbours, which is what retrieval sees.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import onnxruntime
import torch
from pydantic import BaseModel

from jepa_export.triton_python_model import load_runtime, runtime_spec

Device = Literal["cpu", "cuda"]


class ParityThresholds(BaseModel):
    """What an artifact must reach against PyTorch fp32 to be written as verified."""

    min_cosine: float
    max_abs_diff: float
    min_neighbour_agreement: float
    # Judge only inputs like the served ones (decoded clips, tokenized sentences); random inputs
    # are still measured and reported. For lower precisions, whose error depends on the inputs.
    real_inputs_only: bool = False


class ParityResult(BaseModel):
    """One artifact on one input batch."""

    artifact: str
    inputs: str
    batch_size: int
    max_abs_diff: float
    min_cosine: float
    # The lowest row cosine over every output (the embedding included).
    outputs_min_cosine: float
    # False: a random input set, reported but not judged under `real_inputs_only`.
    judged: bool = True
    passed: bool


class NeighbourAgreement(BaseModel):
    """Mean share of each row's k nearest neighbours (cosine) that the artifact keeps."""

    rows: int
    k: int
    agreement: float
    passed: bool


class ArtifactCheck(BaseModel):
    """One artifact (onnx_fp32, onnx_fp16, tensorrt_fp16) against PyTorch fp32."""

    artifact: str
    file: str
    size_bytes: int
    runtime: str
    thresholds: ParityThresholds
    parity: list[ParityResult]
    neighbours: NeighbourAgreement
    # Median milliseconds of one batch of `timing_batch_size` (None when timing was off).
    timing_batch_size: int | None = None
    torch_ms: float | None = None
    artifact_ms: float | None = None
    passed: bool


class Runner(Protocol):
    """Runs one artifact; `device` is where it really ran, `runtime` names the engine."""

    device: Device
    runtime: str

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]: ...


class ServedRunner:
    """The runtime the cpu target's `model.py` builds from an artifact folder (`model.onnx` and
    `runtime.json`): what is verified is what Triton runs."""

    device: Device = "cpu"

    def __init__(self, artifact_dir: Path, output_names: Sequence[str], intra_op_threads: int = 0) -> None:
        self.output_names = list(output_names)
        self._runtime = load_runtime(artifact_dir, {"jepa.intra_op_threads": str(intra_op_threads)})
        spec = runtime_spec(artifact_dir)
        version = onnxruntime.__version__ if spec["runtime"] == "onnxruntime" else _openvino_version()
        self.runtime = f"{spec['runtime']} {version} CPU" + (f" {spec['inference_precision']}" if spec["runtime"] == "openvino" else "")

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self._runtime.run(self.output_names, feeds)


def _openvino_version() -> str:
    import openvino

    return openvino.__version__.split("-")[0]


class OnnxRunner:
    """ONNX Runtime on the CPU, or CUDA when asked for and installed (onnxruntime-gpu)."""

    def __init__(self, onnx_file: Path, device: Device = "cpu") -> None:
        providers = ["CPUExecutionProvider"]
        if device == "cuda" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = onnxruntime.InferenceSession(str(onnx_file), providers=providers)
        provider = self.session.get_providers()[0]
        self.device: Device = "cuda" if provider == "CUDAExecutionProvider" else "cpu"
        self.runtime = f"onnxruntime {onnxruntime.__version__} {provider}"

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(None, feeds)


class InputSet(BaseModel, arbitrary_types_allowed=True):
    """Named inputs and the PyTorch fp32 outputs they produce (computed once, shared by artifacts).
    `real`: inputs like the served ones (decoded video, tokenized text), not random ones."""

    label: str
    feeds: dict[str, np.ndarray]
    reference: list[np.ndarray]
    real: bool = False

    @property
    def batch_size(self) -> int:
        return next(iter(self.feeds.values())).shape[0]


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a2 = a.reshape(a.shape[0], -1).astype(np.float64)
    b2 = b.reshape(b.shape[0], -1).astype(np.float64)
    return (a2 * b2).sum(1) / (np.linalg.norm(a2, axis=1) * np.linalg.norm(b2, axis=1) + 1e-12)


def _torch_outputs(module: torch.nn.Module, tensors: Sequence[torch.Tensor], device: Device) -> list[np.ndarray]:
    with torch.no_grad():
        outputs = module(*(tensor.to(device) for tensor in tensors))
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    if device == "cuda":
        torch.cuda.synchronize()
    return [output.float().cpu().numpy() for output in outputs]


def reference_inputs(
    module: torch.nn.Module, input_names: tuple[str, ...], label: str, tensors: Sequence[torch.Tensor], device: Device, real: bool = False
) -> InputSet:
    """Run the PyTorch fp32 module once on `tensors` (TF32 off on a GPU: fp32 means fp32)."""
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return InputSet(
        label=label,
        feeds={name: tensor.cpu().numpy() for name, tensor in zip(input_names, tensors)},
        reference=_torch_outputs(module, tensors, device),
        real=real,
    )


def neighbour_agreement(reference: np.ndarray, candidate: np.ndarray, k: int) -> float:
    """Mean overlap of each row's top-k cosine neighbours (itself excluded) under both; a row of
    tokens (N, D) counts as one flattened vector."""
    def top_k(embeddings: np.ndarray) -> np.ndarray:
        embeddings = embeddings.reshape(len(embeddings), -1)
        unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)
        similarity = unit @ unit.T
        np.fill_diagonal(similarity, -np.inf)
        return np.argsort(-similarity, axis=1)[:, :k]

    expected, got = top_k(reference.astype(np.float64)), top_k(candidate.astype(np.float64))
    return float(np.mean([len(set(row_e) & set(row_g)) / k for row_e, row_g in zip(expected, got)]))


def _median_ms(call: Callable[[], object], runs: int) -> float:
    call()  # warm-up: allocations, kernel selection
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(durations), 3)


def check_artifact(
    artifact: str,
    artifact_file: Path,
    runner: Runner,
    input_sets: list[InputSet],
    thresholds: ParityThresholds,
    timing: tuple[torch.nn.Module, InputSet, Device, int] | None = None,
) -> ArtifactCheck:
    """Compare one artifact with the PyTorch references; `timing` = (module, inputs, device, runs)."""
    results, embeddings, expected_embeddings = [], [], []
    for input_set in input_sets:
        outputs = runner.run(input_set.feeds)
        embedding, expected = outputs[0], input_set.reference[0]
        max_abs_diff = float(np.abs(embedding.astype(np.float64) - expected).max())
        min_cosine = float(cosine_rows(embedding, expected).min())
        outputs_min_cosine = min(float(cosine_rows(got, want).min()) for got, want in zip(outputs, input_set.reference))
        judged = input_set.real or not thresholds.real_inputs_only
        results.append(
            ParityResult(
                artifact=artifact,
                inputs=input_set.label,
                batch_size=input_set.batch_size,
                max_abs_diff=max_abs_diff,
                min_cosine=min_cosine,
                outputs_min_cosine=outputs_min_cosine,
                judged=judged,
                passed=min(min_cosine, outputs_min_cosine) >= thresholds.min_cosine and max_abs_diff <= thresholds.max_abs_diff,
            )
        )
        if judged:
            embeddings.append(embedding)
            expected_embeddings.append(expected)
    rows = sum(len(embedding) for embedding in embeddings)
    k = max(1, min(3, rows - 1))
    agreement = neighbour_agreement(np.concatenate(expected_embeddings), np.concatenate(embeddings), k) if rows > 1 else 1.0
    neighbours = NeighbourAgreement(rows=rows, k=k, agreement=agreement, passed=agreement >= thresholds.min_neighbour_agreement)
    check = ArtifactCheck(
        artifact=artifact,
        file=str(artifact_file),
        size_bytes=sum(path.stat().st_size for path in artifact_file.parent.glob(f"{artifact_file.name}*")),
        runtime=runner.runtime,
        thresholds=thresholds,
        parity=results,
        neighbours=neighbours,
        # Nothing to judge (no real inputs under `real_inputs_only`) is a failure, never a pass.
        passed=neighbours.passed and any(result.judged for result in results) and all(result.passed for result in results if result.judged),
    )
    # Only like with like: an artifact that fell back to the CPU is not timed against a GPU.
    if timing is not None and timing[2] == runner.device:
        module, timed, device, runs = timing
        tensors = [torch.from_numpy(array) for array in timed.feeds.values()]
        check.timing_batch_size = timed.batch_size
        check.torch_ms = _median_ms(lambda: _torch_outputs(module, tensors, device), runs)
        check.artifact_ms = _median_ms(lambda: runner.run(timed.feeds), runs)
    return check
