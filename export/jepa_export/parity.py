"""Run an ONNX artifact and its PyTorch source on the same inputs and measure how far they drift."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import torch
from pydantic import BaseModel


class ParityResult(BaseModel):
    """One artifact on one input batch, compared with PyTorch fp32 on its first output."""

    artifact: str
    inputs: str
    batch_size: int
    max_abs_diff: float
    min_cosine: float
    passed: bool


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a2 = a.reshape(a.shape[0], -1).astype(np.float64)
    b2 = b.reshape(b.shape[0], -1).astype(np.float64)
    return (a2 * b2).sum(1) / (np.linalg.norm(a2, axis=1) * np.linalg.norm(b2, axis=1) + 1e-12)


def check_parity(
    module: torch.nn.Module,
    onnx_file: Path,
    input_names: tuple[str, ...],
    inputs: tuple[torch.Tensor, ...],
    artifact: str,
    inputs_label: str,
    min_cosine: float,
) -> ParityResult:
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    onnx_output = session.run(None, {name: tensor.numpy() for name, tensor in zip(input_names, inputs)})[0]
    with torch.no_grad():
        torch_output = module(*inputs)
    torch_output = (torch_output[0] if isinstance(torch_output, tuple) else torch_output).float().numpy()
    worst_cosine = float(cosine_rows(onnx_output, torch_output).min())
    return ParityResult(
        artifact=artifact,
        inputs=inputs_label,
        batch_size=inputs[0].shape[0],
        max_abs_diff=float(np.abs(onnx_output.astype(np.float64) - torch_output).max()),
        min_cosine=worst_cosine,
        passed=worst_cosine >= min_cosine,
    )
