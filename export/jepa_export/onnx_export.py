"""Torch module -> ONNX file with a dynamic batch axis and fixed, meaningful I/O names; its fp16 twin."""

from __future__ import annotations

import warnings
from pathlib import Path

import onnx
import torch

# Above this many weight bytes they go to a `model.onnx.data` sidecar: protobuf caps one message at
# 2 GB, and the graph plus its weights must stay under that, so the switch comes early.
EXTERNAL_DATA_THRESHOLD_BYTES = 1 << 30

# Input name -> {axis: dimension}: a `torch.export.Dim`, a multiple of one, or a name (axes that
# share a name share one `Dim`, from 1 to 4096).
DynamicShapes = dict[str, dict[int, object]]


def _as_dims(dynamic_shapes: DynamicShapes, input_names: tuple[str, ...]) -> dict[str, dict[int, object]]:
    named: dict[str, torch.export.Dim] = {}
    return {
        name: {
            axis: named.setdefault(dim, torch.export.Dim(dim, min=1, max=4096)) if isinstance(dim, str) else dim
            for axis, dim in dynamic_shapes.get(name, {}).items()
        }
        for name in input_names
    }


def export_onnx(
    module: torch.nn.Module,
    example_inputs: tuple[torch.Tensor, ...],
    input_names: tuple[str, ...],
    output_names: tuple[str, ...],
    path: Path,
    dynamic_shapes: DynamicShapes,
    external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES,
) -> Path:
    """Export with `torch.onnx.export(dynamo=True)`; weights over the threshold go to a sidecar."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parameter_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    external_data = parameter_bytes > external_data_threshold_bytes
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module.eval(),
            example_inputs,
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_shapes=_as_dims(dynamic_shapes, input_names),
            dynamo=True,
            external_data=external_data,
            verbose=False,
        )
    program.save(str(path), external_data=external_data)
    return path


def convert_to_fp16(onnx_file: Path, destination: Path, external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES) -> Path:
    """fp16 weights and compute, fp32 inputs and outputs (`keep_io_types`): same Triton config.

    `onnxruntime.transformers.float16` is the converter that yields graphs ONNX Runtime accepts for
    both our models (`onnxconverter-common` breaks MiniLM).
    """
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(onnx_file))  # reads the sidecar too
    weight_bytes = sum(len(tensor.raw_data) for tensor in model.graph.initializer)
    # Shape inference serialises the whole model: impossible past protobuf's 2 GB.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converted = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=weight_bytes >= (1 << 31) - (1 << 26))
    destination.parent.mkdir(parents=True, exist_ok=True)
    external_data = weight_bytes // 2 > external_data_threshold_bytes
    onnx.save(converted, str(destination), save_as_external_data=external_data, location=f"{destination.name}.data")
    return destination
