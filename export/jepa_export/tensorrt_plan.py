"""ONNX -> TensorRT plan (fp16, one optimisation profile, a reusable timing cache), and a runner
that executes a plan on the GPU for verification.

Only importable work happens on a machine with `tensorrt` and a CUDA GPU; `unavailable_reason()`
says in one line why a machine cannot build plans, so the export can skip the step cleanly.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

if TYPE_CHECKING:
    from jepa_export.parity import Device

# Input name -> (min, opt, max) shapes, batch axis included.
ShapeProfile = dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]


def profile_shapes(shapes: Iterable[tuple[int, ...]]) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """One input's (min, opt, max) shapes of a `ShapeProfile`, from exactly three."""
    smallest, typical, largest = shapes
    return smallest, typical, largest


class TensorRTError(Exception):
    """The ONNX graph could not be parsed or built into a plan; the message has TensorRT's words."""


class TensorRTBuild(BaseModel):
    plan_file: Path
    tensorrt_version: str
    seconds: float
    # Engine I/O types as Triton names them (TensorRT may keep INT64 or narrow it to INT32).
    input_types: dict[str, str]
    output_types: dict[str, str]


def unavailable_reason() -> str | None:
    """None when this machine can build and run plans, else why not (one line)."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "the tensorrt Python package is not installed (pip install tensorrt)"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA GPU visible to torch (a plan is built for, and on, the GPU that serves it)"
    return None


# TensorRT data type name -> (Triton type, torch dtype name); int64 exists from TensorRT 10 on.
_TYPES = {
    "float32": ("TYPE_FP32", "float32"),
    "float16": ("TYPE_FP16", "float16"),
    "int32": ("TYPE_INT32", "int32"),
    "int64": ("TYPE_INT64", "int64"),
    "bool": ("TYPE_BOOL", "bool"),
}


def _type_names(trt, data_type) -> tuple[str, str]:
    for name, names in _TYPES.items():
        if getattr(trt, name, None) == data_type:
            return names
    raise TensorRTError(f"engine tensor type {data_type} has no Triton counterpart")


def _triton_type(trt, data_type) -> str:
    return _type_names(trt, data_type)[0]


def _io_types(trt, engine, mode) -> dict[str, str]:
    return {
        engine.get_tensor_name(index): _triton_type(trt, engine.get_tensor_dtype(engine.get_tensor_name(index)))
        for index in range(engine.num_io_tensors)
        if engine.get_tensor_mode(engine.get_tensor_name(index)) == mode
    }


def build_plan(onnx_file: Path, plan_file: Path, profile: ShapeProfile, timing_cache_file: Path, workspace_bytes: int = 4 << 30) -> TensorRTBuild:
    """Build an fp16 plan with one optimisation profile; the timing cache is read and updated so a
    rebuild on the same GPU skips kernel timing."""
    import tensorrt as trt

    started = time.perf_counter()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    explicit_batch = 0 if int(trt.__version__.split(".")[0]) >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(explicit_batch)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_file)):  # finds the model.onnx.data sidecar next to it
        errors = "; ".join(str(parser.get_error(index).desc()) for index in range(parser.num_errors))
        raise TensorRTError(f"{onnx_file}: TensorRT cannot parse the graph: {errors}")
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.FP16)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    cache = config.create_timing_cache(timing_cache_file.read_bytes() if timing_cache_file.is_file() else b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    optimisation_profile = builder.create_optimization_profile()
    for name, (smallest, typical, largest) in profile.items():
        optimisation_profile.set_shape(name, smallest, typical, largest)
    config.add_optimization_profile(optimisation_profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise TensorRTError(f"{onnx_file}: TensorRT could not build a plan (see its log above)")
    plan_file.parent.mkdir(parents=True, exist_ok=True)
    plan_file.write_bytes(bytes(serialized))
    timing_cache_file.parent.mkdir(parents=True, exist_ok=True)
    timing_cache_file.write_bytes(bytes(config.get_timing_cache().serialize()))
    engine = trt.Runtime(logger).deserialize_cuda_engine(bytes(serialized))
    return TensorRTBuild(
        plan_file=plan_file,
        tensorrt_version=trt.__version__,
        seconds=round(time.perf_counter() - started, 2),
        input_types=_io_types(trt, engine, trt.TensorIOMode.INPUT),
        output_types=_io_types(trt, engine, trt.TensorIOMode.OUTPUT),
    )


class TensorRTRunner:
    """Runs a plan with torch CUDA tensors as buffers: numpy in, numpy out (outputs by name)."""

    def __init__(self, plan_file: Path, output_names: tuple[str, ...]) -> None:
        import tensorrt as trt
        import torch

        self._trt, self._torch = trt, torch
        self.device: Device = "cuda"
        self.runtime = f"tensorrt {trt.__version__}"
        self.engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(plan_file.read_bytes())
        self.context = self.engine.create_execution_context()
        self.output_names = output_names

    def _torch_dtype(self, name: str):
        return getattr(self._torch, _type_names(self._trt, self.engine.get_tensor_dtype(name))[1])

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        torch = self._torch
        keep = []
        for name, array in feeds.items():
            tensor = torch.from_numpy(np.ascontiguousarray(array)).to("cuda", self._torch_dtype(name))
            self.context.set_input_shape(name, tuple(tensor.shape))
            self.context.set_tensor_address(name, tensor.data_ptr())
            keep.append(tensor)
        outputs = {}
        for name in self.output_names:
            outputs[name] = torch.empty(tuple(self.context.get_tensor_shape(name)), dtype=self._torch_dtype(name), device="cuda")
            self.context.set_tensor_address(name, outputs[name].data_ptr())
        stream = torch.cuda.current_stream()
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise TensorRTError("TensorRT execution failed")
        stream.synchronize()
        return [outputs[name].float().cpu().numpy() for name in self.output_names]
