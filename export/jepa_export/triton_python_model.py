"""Triton python-backend model of the `cpu` target: runs the artifact of its version folder.

The export stage copies this file to `<model>/<version>/model.py`, because the Triton bundled in
nvidia-pytriton ships only the python backend. `<version>/runtime.json` (written by the export)
says which runtime runs `model.onnx`: ONNX Runtime (fp32, fp16, int8 graphs) or OpenVINO (bf16
inference on CPUs with AVX512-BF16 or AMX). `config.pbtxt` parameters set the threads.

All requests of one `execute()` (one dynamic batch) run together. Token inputs are grouped by
length first: rows are sorted by their `attention_mask` length and cut into groups that each run
padded only to their own longest row, because padding a batch to its longest text costs compute
on every padded position. Inputs of other shapes that differ between requests are right-padded
with zeros (the padding id and the "masked" value of our text models).

Only json, numpy and the runtime are imported (the NGC image's python backend has little else);
`triton_python_backend_utils` exists only inside Triton, so it is imported where it is used and
the functions above the model class run anywhere (tests, benchmarks).
"""

import json
from pathlib import Path

import numpy as np

MASK_INPUT = "attention_mask"
# A runtime call costs about as much as this many padded token positions (measured for MiniLM on
# 2 cores): groups smaller than that are not worth a call of their own.
DEFAULT_GROUP_OVERHEAD_TOKENS = 32


def _pad_and_concatenate(arrays):
    target_shape = np.max([array.shape for array in arrays], axis=0)
    padded = [
        np.pad(array, [(0, 0)] + [(0, int(t - s)) for s, t in zip(array.shape[1:], target_shape[1:])])
        if tuple(array.shape[1:]) != tuple(target_shape[1:])
        else array
        for array in arrays
    ]
    return np.concatenate(padded, axis=0)


def length_groups(lengths, overhead_tokens):
    """Cut rows sorted by length into groups minimising sum(rows x longest) + overhead per group.

    Returns (order, bounds): `order` sorts the rows by length, `bounds` are (start, stop) slices of
    that order. Dynamic programming over the sorted lengths: exact, and cheap for Triton batches.
    """
    order = np.argsort(lengths, kind="stable")
    sorted_lengths = np.asarray(lengths)[order]
    count = len(sorted_lengths)
    best = [0.0] + [float("inf")] * count
    cut = [0] * (count + 1)
    for stop in range(1, count + 1):
        for start in range(stop):
            cost = best[start] + (stop - start) * int(sorted_lengths[stop - 1]) + overhead_tokens
            if cost < best[stop]:
                best[stop], cut[stop] = cost, start
    bounds, stop = [], count
    while stop > 0:
        bounds.append((cut[stop], stop))
        stop = cut[stop]
    return order, bounds[::-1]


class _OnnxRuntime:
    def __init__(self, model_file, threads, allow_spinning):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads burn the cores the gateway and the other models need between runs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow_spinning else "0")
        self.session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

    def run(self, output_names, feeds):
        return self.session.run(output_names, feeds)


class _OpenVino:
    def __init__(self, model_file, threads, inference_precision):
        import openvino

        # Unpinned: each Triton instance is a process of its own, and pinned one-thread instances
        # all land on the same core (two of them ran at half the speed of one).
        properties = {
            "INFERENCE_PRECISION_HINT": inference_precision, "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1, "ENABLE_CPU_PINNING": False,
        }
        if threads:
            properties["INFERENCE_NUM_THREADS"] = threads
        self.compiled = openvino.Core().compile_model(str(model_file), "CPU", properties)
        self.request = self.compiled.create_infer_request()

    def run(self, output_names, feeds):
        results = self.request.infer(feeds)
        # The request reuses its output buffers: copy before the next call overwrites them.
        return [np.array(results[self.compiled.output(name)]) for name in output_names]


def runtime_spec(version_dir):
    """`runtime.json` of a version folder; without one, ONNX Runtime (repositories of earlier exports)."""
    spec_file = Path(version_dir) / "runtime.json"
    spec = {"runtime": "onnxruntime", "inference_precision": "f32"}
    if spec_file.is_file():
        spec.update(json.loads(spec_file.read_text()))
    return spec


def load_runtime(version_dir, parameters):
    """The runtime `runtime.json` names, with the threads `config.pbtxt` sets (0 = all cores)."""
    spec = runtime_spec(version_dir)
    threads = int(parameters.get("jepa.intra_op_threads", "0"))
    model_file = Path(version_dir) / "model.onnx"
    if spec["runtime"] == "openvino":
        return _OpenVino(model_file, threads, spec["inference_precision"])
    if spec["runtime"] == "onnxruntime":
        return _OnnxRuntime(model_file, threads, parameters.get("jepa.allow_spinning", "0") == "1")
    raise ValueError(f"{Path(version_dir) / 'runtime.json'}: runtime {spec['runtime']!r} is not onnxruntime or openvino")


def run_batch(runtime, output_names, inputs, group_overhead_tokens=None):
    """One batch through the runtime; with `group_overhead_tokens` (token inputs with an
    attention mask), rows sorted by length, each group trimmed to its longest row and run on its
    own, outputs put back in the callers' order."""
    if group_overhead_tokens is None or MASK_INPUT not in inputs:
        return runtime.run(output_names, inputs)
    lengths = inputs[MASK_INPUT].sum(axis=1)
    order, bounds = length_groups(lengths, group_overhead_tokens)
    padded_length = inputs[MASK_INPUT].shape[1]
    pieces = []
    for start, stop in bounds:
        rows = order[start:stop]
        longest = max(1, int(lengths[rows].max()))
        feeds = {
            name: (array[rows, :longest] if array.ndim > 1 and array.shape[1] == padded_length else array[rows])
            for name, array in inputs.items()
        }
        pieces.append(runtime.run(output_names, feeds))
    outputs = [np.empty((len(order), *parts[0].shape[1:]), parts[0].dtype) for parts in zip(*pieces)]
    for (start, stop), group_outputs in zip(bounds, pieces):
        for output, part in zip(outputs, group_outputs):
            output[order[start:stop]] = part
    return outputs


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        parameters = {key: value["string_value"] for key, value in model_config.get("parameters", {}).items()}
        self.runtime = load_runtime(Path(args["model_repository"]) / args["model_version"], parameters)
        self.input_names = [tensor["name"] for tensor in model_config["input"]]
        self.output_names = [tensor["name"] for tensor in model_config["output"]]
        grouped = MASK_INPUT in self.input_names and parameters.get("jepa.length_grouping", "1") == "1"
        self.group_overhead_tokens = int(parameters.get("jepa.group_overhead_tokens", DEFAULT_GROUP_OVERHEAD_TOKENS)) if grouped else None

    def execute(self, requests):
        import triton_python_backend_utils as pb_utils

        try:
            inputs_per_request = [
                {name: pb_utils.get_input_tensor_by_name(request, name).as_numpy() for name in self.input_names}
                for request in requests
            ]
            batch_sizes = [next(iter(inputs.values())).shape[0] for inputs in inputs_per_request]
            batched_inputs = {
                name: _pad_and_concatenate([inputs[name] for inputs in inputs_per_request]) for name in self.input_names
            }
            batched_outputs = run_batch(self.runtime, self.output_names, batched_inputs, self.group_overhead_tokens)
        except Exception as error:  # one bad batch must not take the model down
            return [pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{type(error).__name__}: {error}")) for _ in requests]
        responses = []
        offset = 0
        for request, batch_size in zip(requests, batch_sizes):
            requested = set(request.requested_output_names()) or set(self.output_names)
            tensors = [
                pb_utils.Tensor(name, np.ascontiguousarray(output[offset : offset + batch_size]))
                for name, output in zip(self.output_names, batched_outputs)
                if name in requested
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            offset += batch_size
        return responses
