"""Write a Triton model repository: typed model settings rendered through Triton's own protobuf.

`config.pbtxt` is never string-templated: `render_config` fills
`tritonclient.grpc.model_config_pb2.ModelConfig` and prints it with `text_format`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
from google.protobuf import text_format
from pydantic import BaseModel, Field
from tritonclient.grpc import model_config_pb2 as mc

# cpu: python backend + ONNX Runtime (the bundled tritonserver); gpu: onnxruntime_onnx (NGC
# image); tensorrt: tensorrt_plan built on the GPU that will serve it.
Target = Literal["cpu", "gpu", "tensorrt"]
# fp32 and fp16 are ONNX graphs for any target; int8 (a quantized graph, OpenVINO or ONNX Runtime) and bf16
# (OpenVINO running the fp32 graph in bf16) are CPU precisions, served by the `cpu` target only.
Precision = Literal["fp32", "fp16", "int8", "bf16"]
CPU_ONLY_PRECISIONS: frozenset[Precision] = frozenset({"int8", "bf16"})
# The artifact that serves each precision, and its version folder (the same numbers in every repository).
PRECISION_ARTIFACTS: dict[Precision, str] = {"fp32": "onnx_fp32", "fp16": "onnx_fp16", "int8": "onnx_int8", "bf16": "openvino_bf16"}
VERSIONS: dict[Precision, int] = {"fp32": 1, "fp16": 2, "int8": 3, "bf16": 4}
PYTHON_MODEL_SOURCE = Path(__file__).with_name("triton_python_model.py")
WARMUP_DIR = "warmup"
_NUMPY_TYPES = {"TYPE_FP32": np.float32, "TYPE_FP16": np.float16, "TYPE_INT64": np.int64, "TYPE_INT32": np.int32}


class RuntimeSpec(BaseModel):
    """`<version>/runtime.json` of the cpu target: which runtime its `model.py` runs the graph with.
    OpenVINO's `inference_precision` bf16 runs an fp32 graph in bf16 (AVX512-BF16 / AMX CPUs)."""

    runtime: Literal["onnxruntime", "openvino"] = "onnxruntime"
    inference_precision: Literal["f32", "bf16"] = "f32"


RUNTIME_FILE = "runtime.json"


class TensorSettings(BaseModel):
    name: str
    data_type: str = "TYPE_FP32"
    # Without the batch axis; -1 = variable.
    dims: list[int]
    # Requests whose variable dims differ may share a batch (the python model pads them).
    allow_ragged_batch: bool = False


class DynamicBatchingSettings(BaseModel):
    preferred_batch_sizes: list[int] = Field(default_factory=list)
    max_queue_delay_microseconds: int = 1000


class WarmupInput(BaseModel):
    """One input of a warm-up request. `fill` "ones" is written to a file under `warmup/`
    (Triton only generates zeros or random bytes, and random ids would index out of a vocabulary)."""

    name: str
    data_type: str = "TYPE_FP32"
    dims: list[int]
    fill: Literal["zeros", "ones"] = "zeros"


class WarmupSettings(BaseModel):
    """A request Triton runs while loading the model, so the first user request is not the slow one."""

    name: str
    batch_size: int = 1
    inputs: list[WarmupInput]


class ModelSettings(BaseModel):
    """Everything `config.pbtxt` says about one served model."""

    name: str
    inputs: list[TensorSettings]
    outputs: list[TensorSettings]
    max_batch_size: int = 32
    # None turns dynamic batching off (used by the batching benchmark).
    dynamic_batching: DynamicBatchingSettings | None = Field(default_factory=DynamicBatchingSettings)
    instance_count: int = 1
    # Read by the gateway (see docs/repository-format.md); all values are strings.
    parameters: dict[str, str] = Field(default_factory=dict)
    # The version a single artifact is written as.
    version: int = 1
    # The versions Triton loads (`version_policy { specific }`); empty = Triton's default (latest).
    served_versions: list[int] = Field(default_factory=list)
    warmup: list[WarmupSettings] = Field(default_factory=list)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(tensor.name for tensor in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(tensor.name for tensor in self.outputs)


def _backend(config: mc.ModelConfig, target: Target) -> mc.ModelInstanceGroup.Kind:
    if target == "cpu":
        config.backend = "python"
        return mc.ModelInstanceGroup.KIND_CPU
    config.platform = "tensorrt_plan" if target == "tensorrt" else "onnxruntime_onnx"
    return mc.ModelInstanceGroup.KIND_GPU


def render_config(model: ModelSettings, target: Target) -> str:
    config = mc.ModelConfig(name=model.name, max_batch_size=model.max_batch_size)
    kind = _backend(config, target)
    for tensor in model.inputs:
        config.input.add(
            name=tensor.name,
            data_type=mc.DataType.Value(tensor.data_type),
            dims=tensor.dims,
            allow_ragged_batch=tensor.allow_ragged_batch and target == "cpu",
        )
    for tensor in model.outputs:
        config.output.add(name=tensor.name, data_type=mc.DataType.Value(tensor.data_type), dims=tensor.dims)
    if model.dynamic_batching is not None and model.max_batch_size > 0:
        config.dynamic_batching.preferred_batch_size.extend(model.dynamic_batching.preferred_batch_sizes)
        config.dynamic_batching.max_queue_delay_microseconds = model.dynamic_batching.max_queue_delay_microseconds
    config.instance_group.add(count=model.instance_count, kind=kind)
    if model.served_versions:
        config.version_policy.specific.versions.extend(model.served_versions)
    for sample in model.warmup:
        warmup = config.model_warmup.add(name=sample.name, batch_size=sample.batch_size, count=1)
        for sample_input in sample.inputs:
            entry = warmup.inputs[sample_input.name]
            entry.data_type = mc.DataType.Value(sample_input.data_type)
            entry.dims.extend(sample_input.dims)
            if sample_input.fill == "zeros":
                entry.zero_data = True
            else:
                entry.input_data_file = _warmup_file_name(sample, sample_input)
    for key, value in model.parameters.items():
        config.parameters[key].string_value = value
    return text_format.MessageToString(config)


def _warmup_file_name(sample: WarmupSettings, tensor: WarmupInput) -> str:
    return f"{sample.name}_{tensor.name}"


def _write_warmup_files(model_dir: Path, model: ModelSettings) -> None:
    """Triton reads `input_data_file` from `<model>/warmup/`: raw little-endian values, batch included."""
    for sample in model.warmup:
        for tensor in sample.inputs:
            if tensor.fill == "ones":
                values = np.ones([sample.batch_size, *tensor.dims], dtype=_NUMPY_TYPES[tensor.data_type])
                (model_dir / WARMUP_DIR).mkdir(exist_ok=True)
                (model_dir / WARMUP_DIR / _warmup_file_name(sample, tensor)).write_bytes(values.astype(values.dtype.newbyteorder("<")).tobytes())


def _link_or_copy(source: Path, destination: Path) -> None:
    """Hard-link large weight files into each target's repository; copy across filesystems."""
    destination.unlink(missing_ok=True)
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def write_model(
    repository: Path,
    model: ModelSettings,
    artifacts: Path | Mapping[int, Path],
    target: Target,
    extra_files: tuple[Path, ...] = (),
    runtimes: Mapping[int, RuntimeSpec] | None = None,
) -> Path:
    """Lay out `<repository>/<model>/config.pbtxt` and one `<version>/` folder per artifact.

    `artifacts` maps a version to its `model.onnx` (+ its `model.onnx.data` sidecar, + `model.py`
    and `runtime.json` for the cpu target: `runtimes`, ONNX Runtime by default) or `model.plan`;
    a single path is written as `model.version`.
    """
    versions = {model.version: artifacts} if isinstance(artifacts, Path) else dict(artifacts)
    expected_name = "model.plan" if target == "tensorrt" else "model.onnx"
    model_dir = repository / model.name
    for version, artifact in versions.items():
        if artifact.name != expected_name:
            raise ValueError(f"artifacts[{version}]: got {artifact.name}, the {target} target serves {expected_name}")
        version_dir = model_dir / str(version)
        version_dir.mkdir(parents=True, exist_ok=True)
        # The graph names its sidecar `model.onnx.data`, so both keep their names.
        for weights in [artifact, *artifact.parent.glob(f"{artifact.name}.data")]:
            _link_or_copy(weights, version_dir / weights.name)
        if target == "cpu":
            shutil.copy2(PYTHON_MODEL_SOURCE, version_dir / "model.py")
            runtime = (runtimes or {}).get(version, RuntimeSpec())
            (version_dir / RUNTIME_FILE).write_text(runtime.model_dump_json(indent=2) + "\n")
    (model_dir / "config.pbtxt").write_text(render_config(model, target))
    _write_warmup_files(model_dir, model)
    for extra in extra_files:
        shutil.copy2(extra, model_dir / extra.name)
    return model_dir


class EnsembleStep(BaseModel):
    """One model of an ensemble: its tensors mapped to the ensemble's tensor names."""

    model_name: str
    input_map: dict[str, str]
    output_map: dict[str, str]


class EnsembleSettings(BaseModel):
    """A Triton ensemble: chains served models so intermediate tensors never leave Triton."""

    name: str
    inputs: list[TensorSettings]
    outputs: list[TensorSettings]
    steps: list[EnsembleStep]
    max_batch_size: int = 32
    parameters: dict[str, str] = Field(default_factory=dict)


def render_ensemble_config(ensemble: EnsembleSettings) -> str:
    config = mc.ModelConfig(name=ensemble.name, platform="ensemble", max_batch_size=ensemble.max_batch_size)
    for tensor in ensemble.inputs:
        config.input.add(name=tensor.name, data_type=mc.DataType.Value(tensor.data_type), dims=tensor.dims)
    for tensor in ensemble.outputs:
        config.output.add(name=tensor.name, data_type=mc.DataType.Value(tensor.data_type), dims=tensor.dims)
    for step in ensemble.steps:
        entry = config.ensemble_scheduling.step.add(model_name=step.model_name, model_version=-1)
        entry.input_map.update(step.input_map)
        entry.output_map.update(step.output_map)
    for key, value in ensemble.parameters.items():
        config.parameters[key].string_value = value
    return text_format.MessageToString(config)


def write_ensemble(repository: Path, ensemble: EnsembleSettings) -> Path:
    """`<repository>/<ensemble>/config.pbtxt` and the empty version folder Triton requires."""
    model_dir = repository / ensemble.name
    (model_dir / "1").mkdir(parents=True, exist_ok=True)
    (model_dir / "config.pbtxt").write_text(render_ensemble_config(ensemble))
    return model_dir
