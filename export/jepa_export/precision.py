"""Lower precisions for the CPU, as artifact folders the cpu target's `model.py` runs:
- int8, by default static: NNCF quantizes every matrix product (attention's included) as a QDQ
  graph calibrated on the model's real inputs, which OpenVINO runs with VNNI int8 kernels and
  bf16 (where the CPU has it) for the rest. ONNX Runtime's dynamic quantization (int8 weights,
  activations quantized per call) is the fallback without OpenVINO or where NNCF cannot read
  the graph: it leaves attention fp32, the largest single cost of a V-JEPA 2 int8 clip.
- bf16: OpenVINO running the fp32 graph with bf16 inference on AVX512-BF16 / AMX CPUs (ONNX
  Runtime has no bf16 kernels for x86).
Each folder holds `model.onnx` and `runtime.json`."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import onnx

from jepa_export.repository import RUNTIME_FILE, RuntimeSpec
from jepa_export.settings import Int8Settings

Feeds = dict[str, np.ndarray]


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


def static_int8_unavailable_reason() -> str | None:
    """Why int8 falls back to ONNX Runtime's dynamic quantization here; None when it need not."""
    missing = [name for name in ("openvino", "nncf") if importlib.util.find_spec(name) is None]
    return f"{' and '.join(missing)} not installed (they come with the export extra)" if missing else None


def cpu_has_bf16() -> bool:
    import openvino

    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def bf16_unavailable_reason() -> str | None:
    """Why bf16 cannot be built here, in one line; None when it can."""
    if not openvino_installed():
        return "openvino is not installed (it comes with the export extra)"
    if not cpu_has_bf16():
        return "this CPU has no bf16 instructions (AVX512-BF16 or AMX): OpenVINO would run fp32"
    return None


def build_bf16(fp32_file: Path, folder: Path) -> Path:
    """The fp32 graph, run by OpenVINO in bf16 (weights are converted when the model compiles)."""
    graph = link_graph(fp32_file, folder)
    write_runtime(folder, RuntimeSpec(runtime="openvino", inference_precision="bf16"))
    return graph


def build_int8(fp32_file: Path, openvino_graph: Path, folder: Path, settings: Int8Settings, calibration: list[Feeds]) -> tuple[Path, str | None]:
    """int8 by `settings.method`: static from the graph OpenVINO runs best, where OpenVINO and NNCF
    are installed and NNCF can read the graph; else ONNX Runtime's dynamic quantization of the fp32
    graph. Returns the graph and, when static was asked for but not made, why."""
    folder.mkdir(parents=True, exist_ok=True)
    destination = folder / "model.onnx"
    for stale in (destination, folder / "model.onnx.data"):
        stale.unlink(missing_ok=True)
    fallback = static_int8_unavailable_reason() if settings.method == "static" else None
    if settings.method == "static" and fallback is None:
        try:
            _quantize_static(openvino_graph, destination, calibration)
        except Exception as error:  # noqa: BLE001 - NNCF cannot read every graph (contrib fusions); reported
            fallback = f"static quantization failed ({type(error).__name__}: {error})"[:300]
        else:
            write_runtime(folder, RuntimeSpec(runtime="openvino", inference_precision="bf16" if cpu_has_bf16() else "f32"))
            return destination, None
    _quantize_dynamic(fp32_file, destination, settings)
    write_runtime(folder, RuntimeSpec())
    return destination, fallback


def _quantize_static(fp32_file: Path, destination: Path, calibration: list[Feeds]) -> None:
    """NNCF's transformer recipe without SmoothQuant: on decoded clips SmoothQuant's rescaled
    activations took a ViT-S's int8 cosine below the 0.995 gate; without it the gate holds."""
    import nncf

    quantized = nncf.quantize(
        onnx.load(str(fp32_file)),
        nncf.Dataset(calibration),
        model_type=nncf.ModelType.TRANSFORMER,
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(calibration),
        advanced_parameters=nncf.AdvancedQuantizationParameters(smooth_quant_alphas=nncf.AdvancedSmoothQuantParameters(matmul=-1)),
    )
    if not any(node.op_type == "QuantizeLinear" for node in quantized.graph.node):
        # NNCF leaves graphs of ops it does not know (ONNX Runtime's fused contrib ops) untouched.
        raise ValueError("NNCF quantized nothing in this graph")
    external = fp32_file.with_name(f"{fp32_file.name}.data").is_file()
    onnx.save(quantized, str(destination), save_as_external_data=external, location=f"{destination.name}.data")


def _quantize_dynamic(fp32_file: Path, destination: Path, settings: Int8Settings) -> None:
    """Dynamic quantization of the weight-carrying nodes of `settings.op_types`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

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
