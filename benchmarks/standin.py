"""A stand-in video model in a text model's embedding space: it averages a window's frames, pools
each channel to an 8 x 8 grid and projects that (fixed random weights) to the text model's
dimension. Its scores mean nothing and it costs next to nothing, so what a test or study of the
index measures is the gateway's write and search paths, not a video encoder. Served through the
project's own python-backend `model.py`, like every exported model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
from google.protobuf import text_format
from onnx import TensorProto, helper, numpy_helper
from tritonclient.grpc import model_config_pb2

GRID = 8


def pooled_video_onnx(path: Path, frames: int, crop: int, dimension: int, seed: int = 7) -> None:
    projection = np.random.default_rng(seed).normal(size=(3 * GRID * GRID, dimension)).astype(np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["pixel_values_videos", "time_axis"], ["frame_mean"], keepdims=0),
        helper.make_node("AveragePool", ["frame_mean"], ["grid"], kernel_shape=[crop // GRID, crop // GRID], strides=[crop // GRID, crop // GRID]),
        helper.make_node("Flatten", ["grid"], ["features"], axis=1),
        helper.make_node("MatMul", ["features", "projection"], ["projected"]),
        helper.make_node("LpNormalization", ["projected"], ["video_embedding"], axis=1, p=2),
    ]
    graph = helper.make_graph(
        nodes, "pooled_video",
        [helper.make_tensor_value_info("pixel_values_videos", TensorProto.FLOAT, ["batch", frames, 3, crop, crop])],
        [helper.make_tensor_value_info("video_embedding", TensorProto.FLOAT, ["batch", dimension])],
        initializer=[numpy_helper.from_array(projection, "projection"), numpy_helper.from_array(np.array([1], np.int64), "time_axis")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def standin_video_model(video_model: Path, repository: Path, name: str, embedding_space: str, dimension: int, frames: int, crop: int) -> Path:
    """The stand-in as model `name` of `repository`, declared in `embedding_space`; `video_model`:
    an exported video model folder whose config (normalisation, batching) and model.py it reuses."""
    config = text_format.Parse((video_model / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    version = str(config.version_policy.specific.versions[0]) if config.version_policy.specific.versions else "1"
    target = repository / name / version
    target.mkdir(parents=True)
    shutil.copy(video_model / version / "model.py", target / "model.py")
    pooled_video_onnx(target / "model.onnx", frames, crop, dimension)
    config.name = name
    for dims in [config.input[0].dims, *(warmup.inputs[config.input[0].name].dims for warmup in config.model_warmup)]:
        del dims[:]
        dims.extend([frames, 3, crop, crop])
    del config.output[:]
    config.output.add(name="video_embedding", data_type=model_config_pb2.TYPE_FP32, dims=[dimension])
    for key, value in {
        "jepa.role": "video_pipeline", "jepa.embedding_space": embedding_space, "jepa.frames_per_clip": str(frames),
        "jepa.crop_size": str(crop), "jepa.resize_short_side": str(crop), "jepa.tubelet_size": "1",
    }.items():
        config.parameters[key].string_value = value
    (repository / name / "config.pbtxt").write_text(text_format.MessageToString(config))
    return repository / name
