"""Write a Triton model repository: typed model settings rendered through Triton's own protobuf.

`config.pbtxt` is never string-templated: `render_config` fills
`tritonclient.grpc.model_config_pb2.ModelConfig` and prints it with `text_format`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Literal

from google.protobuf import text_format
from pydantic import BaseModel, Field
from tritonclient.grpc import model_config_pb2 as mc

Target = Literal["cpu", "gpu"]
PYTHON_MODEL_SOURCE = Path(__file__).with_name("triton_python_model.py")


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
    version: int = 1


def render_config(model: ModelSettings, target: Target) -> str:
    config = mc.ModelConfig(name=model.name, max_batch_size=model.max_batch_size)
    if target == "cpu":
        config.backend = "python"
        kind = mc.ModelInstanceGroup.KIND_CPU
    else:
        config.platform = "onnxruntime_onnx"
        kind = mc.ModelInstanceGroup.KIND_GPU
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
    for key, value in model.parameters.items():
        config.parameters[key].string_value = value
    return text_format.MessageToString(config)


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
    onnx_file: Path,
    target: Target,
    extra_files: tuple[Path, ...] = (),
) -> Path:
    """Lay out `<repository>/<model>/config.pbtxt` and `<version>/model.onnx` (+ sidecar, + model.py)."""
    if onnx_file.name != "model.onnx":
        raise ValueError(f"onnx_file: got {onnx_file.name}, the exporter names every graph model.onnx")
    model_dir = repository / model.name
    version_dir = model_dir / str(model.version)
    version_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "config.pbtxt").write_text(render_config(model, target))
    # The graph names its sidecar `model.onnx.data`, so both keep their names.
    for weights in [onnx_file, *onnx_file.parent.glob("model.onnx.data")]:
        _link_or_copy(weights, version_dir / weights.name)
    if target == "cpu":
        shutil.copy2(PYTHON_MODEL_SOURCE, version_dir / "model.py")
    for extra in extra_files:
        shutil.copy2(extra, model_dir / extra.name)
    return model_dir
