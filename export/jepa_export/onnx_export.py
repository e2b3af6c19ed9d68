"""Torch module -> ONNX file with a dynamic batch axis and fixed, meaningful I/O names."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

# Above this size the weights go to a `.onnx.data` sidecar (protobuf caps a message at 2 GB).
EXTERNAL_DATA_THRESHOLD_BYTES = 1 << 30


def export_onnx(
    module: torch.nn.Module,
    example_inputs: tuple[torch.Tensor, ...],
    input_names: tuple[str, ...],
    output_names: tuple[str, ...],
    path: Path,
    dynamic_axes: dict[str, dict[int, str]],
) -> Path:
    """Export with `torch.onnx.export(dynamo=True)`; `dynamic_axes` maps input name -> {axis: dim name}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dims: dict[str, torch.export.Dim] = {}
    dynamic_shapes = {
        name: {axis: dims.setdefault(dim_name, torch.export.Dim(dim_name, min=1, max=4096)) for axis, dim_name in dynamic_axes.get(name, {}).items()}
        for name in input_names
    }
    parameter_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module.eval(),
            example_inputs,
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_shapes=dynamic_shapes,
            dynamo=True,
            external_data=parameter_bytes > EXTERNAL_DATA_THRESHOLD_BYTES,
            verbose=False,
        )
    program.save(str(path), external_data=parameter_bytes > EXTERNAL_DATA_THRESHOLD_BYTES)
    return path
