"""Lower precisions for the CPU, as artifact folders the cpu target's `model.py` runs:
int8 (ONNX Runtime dynamic quantization: int8 weights, u8 activations quantized per call, VNNI
kernels) and bf16 (OpenVINO running the fp32 graph with bf16 inference on AVX512-BF16 / AMX CPUs;
ONNX Runtime has no bf16 kernels for x86). Each folder holds `model.onnx` and `runtime.json`."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

import onnx

from jepa_export.repository import RUNTIME_FILE, RuntimeSpec
from jepa_export.settings import Int8Settings


def write_runtime(folder: Path, runtime: RuntimeSpec) -> None:
    (folder / RUNTIME_FILE).write_text(runtime.model_dump_json(indent=2) + "\n")


def link_graph(onnx_file: Path, folder: Path) -> Path:
    """Hard-link `model.onnx` (and its sidecar) into `folder`: another runtime over the same graph."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in [onnx_file, *onnx_file.parent.glob(f"{onnx_file.name}.data")]:
        destination = folder / source.name
        destination.unlink(missing_ok=True)
        try:
            os.link(source, destination)
        except OSError:
            shutil.copy2(source, destination)
    return folder / onnx_file.name


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def bf16_unavailable_reason() -> str | None:
    """Why bf16 cannot be built here, in one line; None when it can."""
    if not openvino_installed():
        return "openvino is not installed (it comes with the export extra)"
    import openvino

    capabilities = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if "BF16" not in capabilities:
        return "this CPU has no bf16 instructions (AVX512-BF16 or AMX): OpenVINO would run fp32"
    return None


def build_bf16(fp32_file: Path, folder: Path) -> Path:
    """The fp32 graph, run by OpenVINO in bf16 (weights are converted when the model compiles)."""
    graph = link_graph(fp32_file, folder)
    write_runtime(folder, RuntimeSpec(runtime="openvino", inference_precision="bf16"))
    return graph


def build_int8(fp32_file: Path, folder: Path, settings: Int8Settings) -> Path:
    """Dynamic quantization of the weight-carrying nodes of `settings.op_types`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True, exist_ok=True)
    destination = folder / "model.onnx"
    for stale in (destination, folder / "model.onnx.data"):
        stale.unlink(missing_ok=True)
    quantizer_log = logging.getLogger()  # the quantizer advises pre-processing at WARNING on the root logger
    level = quantizer_log.level
    quantizer_log.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            fp32_file,
            destination,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=settings.op_types,
            per_channel=settings.per_channel,
            use_external_data_format=fp32_file.with_name(f"{fp32_file.name}.data").is_file(),
            # Shape inference cannot type the outputs of fused contrib ops (Attention...): they are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        quantizer_log.setLevel(level)
    write_runtime(folder, RuntimeSpec())
    return destination
