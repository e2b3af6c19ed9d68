"""In-process PyTorch eager baselines, in a worker process of their own so torch's threads never
share a process with the load generator: `EagerWorker` starts `python -m benchmarks.eager`, which
keeps the models loaded and answers one JSON spec per line with one JSON list of points, so a
study can alternate eager and served measurements round after round.

Video: the exported module itself (V-JEPA 2 -> mean of last hidden states -> L2) on tensors that
are already decoded and normalised. Text: sentence-transformers' `encode` on the bundled MiniLM.
Matmul: square fp32 products of each size (`batch_sizes`), the CPU's fp32 ceiling as this torch
(oneDNN / MKL, every core) reaches it: no fp32 runtime does a clip's products faster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Literal

from pydantic import BaseModel


class EagerSpec(BaseModel):
    kind: Literal["video", "text", "matmul"]
    checkpoint: str = ""
    batch_sizes: list[int]
    duration_s: float
    texts: list[str] = []


class EagerPoint(BaseModel):
    batch_size: int
    calls: int
    seconds: float
    items_per_s: float
    cpu_s: float

    @property
    def matmul_gflops(self) -> float:
        """For a matmul point: GFLOP/s of its (batch_size x batch_size) products."""
        return 2 * self.batch_size**3 * self.calls / self.seconds / 1e9

    @property
    def cpu_ms_per_item(self) -> float:
        return 1000 * self.cpu_s / max(self.calls * self.batch_size, 1)


def _time_calls(function: Callable[[], object], batch_size: int, duration_s: float) -> EagerPoint:
    """One warm-up call, then calls until `duration_s` has passed (at least two)."""
    function()
    calls, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while calls < 2 or time.perf_counter() - started < duration_s:
        function()
        calls += 1
    seconds = time.perf_counter() - started
    return EagerPoint(
        batch_size=batch_size, calls=calls, seconds=round(seconds, 3), items_per_s=round(calls * batch_size / seconds, 3),
        cpu_s=round(time.process_time() - cpu_started, 3),
    )


class _Models:
    """Models loaded once per worker, by checkpoint."""

    def __init__(self) -> None:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        self.loaded: dict[str, object] = {}

    def video(self, checkpoint: str):
        if checkpoint not in self.loaded:
            from jepa_export.checkpoints import load_vjepa2_hf, video_geometry
            from jepa_export.modules import VideoEncoderForExport

            model = load_vjepa2_hf(Path(checkpoint))
            self.loaded[checkpoint] = (VideoEncoderForExport(model).eval(), video_geometry(model))
        return self.loaded[checkpoint]

    def text(self):
        if "text" not in self.loaded:
            from sentence_transformers import SentenceTransformer

            from jepa_export.checkpoints import bundled_minilm_dir

            self.loaded["text"] = SentenceTransformer(str(bundled_minilm_dir()), device="cpu")
        return self.loaded["text"]

    def measure(self, spec: EagerSpec) -> list[EagerPoint]:
        import torch

        points = []
        with torch.inference_mode():
            if spec.kind == "video":
                encoder, geometry = self.video(spec.checkpoint)
                for batch in spec.batch_sizes:
                    pixels = torch.randn(batch, geometry.frames_per_clip, 3, geometry.crop_size, geometry.crop_size)
                    points.append(_time_calls(partial(encoder, pixels), batch, spec.duration_s))
            elif spec.kind == "matmul":
                for size in spec.batch_sizes:
                    left, right = torch.randn(size, size), torch.randn(size, size)
                    point = _time_calls(partial(torch.mm, left, right), 1, spec.duration_s)
                    points.append(point.model_copy(update={"batch_size": size}))
            else:
                model = self.text()
                for batch in spec.batch_sizes:
                    texts = (spec.texts * (1 + batch // max(len(spec.texts), 1)))[:batch]
                    points.append(_time_calls(partial(model.encode, texts, batch_size=batch, normalize_embeddings=True), batch, spec.duration_s))
        return points


MATMUL_SIZES = [1024, 2048]


class EagerWorker:
    """The worker process; `measure(spec)` sends one spec and waits for its points."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.eager"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def measure(self, spec: EagerSpec) -> list[EagerPoint]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(spec.model_dump_json() + "\n")
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the eager worker exited with {self.process.wait()}")
        return [EagerPoint.model_validate(point) for point in json.loads(answer)]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(30)

    def __enter__(self) -> EagerWorker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def matmul_ceiling_gflops(worker: EagerWorker, duration_s: float) -> float:
    """The fastest of the square fp32 products, GFLOP/s on every core."""
    points = worker.measure(EagerSpec(kind="matmul", batch_sizes=MATMUL_SIZES, duration_s=duration_s))
    return max(point.matmul_gflops for point in points)


def serve() -> None:
    """One spec per stdin line, one JSON list of points per stdout line, until stdin closes."""
    models = _Models()
    for line in sys.stdin:
        points = models.measure(EagerSpec.model_validate_json(line))
        print(json.dumps([point.model_dump() for point in points]), flush=True)


if __name__ == "__main__":
    serve()
