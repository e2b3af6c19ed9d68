"""ONNX Runtime alone, in-process, time per item by batch size: the ceiling of what any batcher
can gain on this machine (a batcher only removes per-execution overhead and fills the cores;
it cannot make one item's arithmetic cheaper)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime
from pydantic import BaseModel

from benchmarks.results import load_average


class BatchTiming(BaseModel):
    batch_size: int
    runs: int
    ms_per_item: float
    load_average_1m: float


def _session(model_dir: Path) -> onnxruntime.InferenceSession:
    """Options as the served python model sets them (export/jepa_export/triton_python_model.py)."""
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(model_dir / "1" / "model.onnx"), options, providers=["CPUExecutionProvider"])


def time_batches(model_dir: Path, make_inputs, batch_sizes: list[int], seconds_per_size: float) -> list[BatchTiming]:
    session = _session(model_dir)
    outputs = [session.get_outputs()[0].name]
    timings = []
    for batch in batch_sizes:
        inputs = make_inputs(batch)
        session.run(outputs, inputs)
        runs, started = 0, time.perf_counter()
        while runs < 2 or time.perf_counter() - started < seconds_per_size:
            session.run(outputs, inputs)
            runs += 1
        elapsed = time.perf_counter() - started
        timings.append(BatchTiming(batch_size=batch, runs=runs, ms_per_item=round(1000 * elapsed / (runs * batch), 3), load_average_1m=load_average()[0]))
    return timings


def text_inputs(tokenizer, texts: list[str]):
    def make(batch: int) -> dict[str, np.ndarray]:
        tokens = tokenizer.encode((texts * (1 + batch // len(texts)))[:batch])
        return {"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask}

    return make


def video_inputs(frames_per_clip: int, crop_size: int):
    def make(batch: int) -> dict[str, np.ndarray]:
        return {"pixel_values_videos": np.random.default_rng(batch).standard_normal((batch, frames_per_clip, 3, crop_size, crop_size), np.float32)}

    return make
