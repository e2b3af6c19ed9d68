"""Torch module -> ONNX file with a dynamic batch axis and fixed, meaningful I/O names, by one of
several graph recipes; its fp16 twin.

Recipes differ in what ONNX Runtime can fuse: the dynamo exporter (opset 20) gives plain ops; at
opset 23 it writes scaled-dot-product attention as the ONNX `Attention` op, which ONNX Runtime
runs as one kernel; the TorchScript exporter over eager attention gives the pattern that
`onnxruntime.transformers`' optimizer fuses into `Attention`, `SkipLayerNormalization` and
`BiasGelu` (it finds no attention in dynamo graphs). Which one is fastest is measured, not assumed
(`jepa_export.tuning`), and every recipe's graph is verified against PyTorch like any artifact.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import onnx
import torch
from pydantic import BaseModel

# Above this many weight bytes they go to a `model.onnx.data` sidecar: protobuf caps one message at
# 2 GB, and the graph plus its weights must stay under that, so the switch comes early.
EXTERNAL_DATA_THRESHOLD_BYTES = 1 << 30

# Input name -> {axis: dimension}: a `torch.export.Dim`, a multiple of one, or a name (axes that
# share a name share one `Dim`, from 1 to 4096).
DynamicShapes = dict[str, dict[int, object]]


class GraphRecipe(BaseModel):
    """How a module becomes an ONNX graph.

    exporter: `dynamo` (torch.export) or `torchscript` (tracing; attention runs in its eager form
        so its pattern is recognisable).
    opset: the ONNX opset; 23 and above turn SDPA into the `Attention` op (dynamo only).
    fuse: the `onnxruntime.transformers` optimizer model type (`bert`, `vit`) run over the graph.
    rope_tables: V-JEPA 2's rotary embedding as constant tables (`jepa_export.rope`).
    """

    name: str
    exporter: Literal["dynamo", "torchscript"] = "dynamo"
    opset: int = 20
    fuse: Literal["bert", "vit"] | None = None
    rope_tables: bool = False


DYNAMO = GraphRecipe(name="dynamo")
DYNAMO_ATTENTION = GraphRecipe(name="dynamo-attention", opset=23)
DYNAMO_ROPE_ATTENTION = GraphRecipe(name="dynamo-rope-attention", opset=23, rope_tables=True)
TORCHSCRIPT = GraphRecipe(name="torchscript", exporter="torchscript", opset=17)
TORCHSCRIPT_FUSED_BERT = GraphRecipe(name="torchscript-fused", exporter="torchscript", opset=17, fuse="bert")
TORCHSCRIPT_FUSED_VIT = GraphRecipe(name="torchscript-fused", exporter="torchscript", opset=17, fuse="vit")


def _as_dims(dynamic_shapes: DynamicShapes, input_names: tuple[str, ...]) -> dict[str, dict[int, object]]:
    named: dict[str, torch.export.Dim] = {}
    return {
        name: {
            axis: named.setdefault(dim, torch.export.Dim(dim, min=1, max=4096)) if isinstance(dim, str) else dim
            for axis, dim in dynamic_shapes.get(name, {}).items()
        }
        for name in input_names
    }


def _axis_names(dynamic_shapes: DynamicShapes, input_names: tuple[str, ...], output_names: tuple[str, ...]) -> dict[str, dict[int, str]]:
    """The TorchScript exporter's `dynamic_axes`: every dynamic input axis named; outputs vary in batch."""
    axes: dict[str, dict[int, str]] = {}
    for name in input_names:
        axes[name] = {axis: dim if isinstance(dim, str) else getattr(dim, "__name__", f"{name}_{axis}") for axis, dim in dynamic_shapes.get(name, {}).items()}
    batch_name = next((names[0] for names in axes.values() if 0 in names), "batch")
    for name in output_names:
        axes[name] = {0: batch_name}
    return axes


@contextlib.contextmanager
def eager_attention(module: torch.nn.Module) -> Iterator[None]:
    """Transformers models switched to their eager attention while traced, then switched back."""
    switched = []
    submodule: Any  # transformers models, whose methods torch types as Tensor | Module
    for submodule in module.modules():
        config = getattr(submodule, "config", None)
        if hasattr(submodule, "set_attn_implementation") and config is not None:
            switched.append((submodule, config._attn_implementation))
            submodule.set_attn_implementation("eager")
    try:
        yield
    finally:
        for submodule, implementation in switched:
            submodule.set_attn_implementation(implementation)


def _attention_heads(module: torch.nn.Module) -> tuple[int, int]:
    """(heads, hidden size) of the first transformers config inside `module`; 0 lets the optimizer infer."""
    for submodule in module.modules():
        config = getattr(submodule, "config", None)
        if config is not None and hasattr(config, "num_attention_heads"):
            return int(config.num_attention_heads), int(config.hidden_size)
    return 0, 0


def fuse_graph(path: Path, model_type: str, module: torch.nn.Module) -> dict[str, int]:
    """Run ONNX Runtime's transformer optimizer over the file in place; returns the fused op counts."""
    from onnxruntime.transformers.optimizer import optimize_model

    heads, hidden_size = _attention_heads(module)
    external_data = path.with_name(f"{path.name}.data").is_file()
    optimized = optimize_model(str(path), model_type=model_type, num_heads=heads, hidden_size=hidden_size)
    optimized.save_model_to_file(str(path), use_external_data_format=external_data)
    return {op: count for op, count in optimized.get_fused_operator_statistics().items() if count}


def export_onnx(
    module: torch.nn.Module,
    example_inputs: tuple[torch.Tensor, ...],
    input_names: tuple[str, ...],
    output_names: tuple[str, ...],
    path: Path,
    dynamic_shapes: DynamicShapes,
    external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES,
    recipe: GraphRecipe = DYNAMO,
) -> Path:
    """Export `module` to `path` with `recipe`'s exporter and opset (its fusion is `fuse_graph`);
    weights over the threshold go to a sidecar."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(f"{path.name}.data")):
        stale.unlink(missing_ok=True)  # a hard link of an earlier export must not be written through
    parameter_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    external_data = parameter_bytes > external_data_threshold_bytes
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        if recipe.exporter == "dynamo":
            program = torch.onnx.export(
                module.eval(),
                example_inputs,
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_shapes=_as_dims(dynamic_shapes, input_names),
                dynamo=True,
                external_data=external_data,
                opset_version=recipe.opset,
                verbose=False,
            )
            assert program is not None  # dynamo=True always returns an ONNXProgram
            program.save(str(path), external_data=external_data)
        else:
            with eager_attention(module):
                torch.onnx.export(
                    module.eval(),
                    example_inputs,
                    str(path),
                    input_names=list(input_names),
                    output_names=list(output_names),
                    dynamic_axes=_axis_names(dynamic_shapes, input_names, output_names),
                    opset_version=recipe.opset,
                    dynamo=False,
                )
            if external_data:  # the tracer writes one file per tensor; gather them into one sidecar
                model = onnx.load(str(path))
                onnx.save(model, str(path), save_as_external_data=True, location=f"{path.name}.data")
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
