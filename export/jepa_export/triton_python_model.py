"""Triton python-backend model that runs the ONNX file next to it with ONNX Runtime.

The export stage copies this file to `<model>/<version>/model.py` for the `cpu` target, because
the Triton bundled in nvidia-pytriton ships only the python backend. All requests of one
`execute()` call (one dynamic batch) go through ONNX Runtime as a single batch; inputs whose
non-batch dimensions differ between requests (token sequences) are right-padded with zeros, which
is the padding id and the "masked" value of our text models.
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime
import triton_python_backend_utils as pb_utils


def _pad_and_concatenate(arrays):
    target_shape = np.max([array.shape for array in arrays], axis=0)
    padded = [
        np.pad(array, [(0, 0)] + [(0, int(t - s)) for s, t in zip(array.shape[1:], target_shape[1:])])
        if tuple(array.shape[1:]) != tuple(target_shape[1:])
        else array
        for array in arrays
    ]
    return np.concatenate(padded, axis=0)


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        parameters = {key: value["string_value"] for key, value in model_config.get("parameters", {}).items()}
        version_dir = Path(args["model_repository"]) / args["model_version"]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(parameters.get("jepa.ort_intra_op_threads", "0"))
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(
            str(version_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = [tensor["name"] for tensor in model_config["input"]]
        self.output_names = [tensor["name"] for tensor in model_config["output"]]
        self.input_dtypes = {tensor.name: tensor.type for tensor in self.session.get_inputs()}

    def execute(self, requests):
        try:
            inputs_per_request = [
                {name: pb_utils.get_input_tensor_by_name(request, name).as_numpy() for name in self.input_names}
                for request in requests
            ]
            batch_sizes = [next(iter(inputs.values())).shape[0] for inputs in inputs_per_request]
            batched_inputs = {
                name: _pad_and_concatenate([inputs[name] for inputs in inputs_per_request]) for name in self.input_names
            }
            batched_outputs = self.session.run(self.output_names, batched_inputs)
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
