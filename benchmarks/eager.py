"""In-process PyTorch eager baselines, run as `python -m benchmarks.eager SPEC_JSON` in a child
process so torch's threads never share a process with the load generator. Prints JSON.

Video: the exported module itself (V-JEPA 2 -> mean of last hidden states -> L2) on tensors that
are already decoded and normalised. Text: sentence-transformers' `encode` on the bundled MiniLM.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

from pydantic import BaseModel


class EagerSpec(BaseModel):
    kind: str  # "video" or "text"
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


def _time_calls(function: Callable[[], None], batch_size: int, duration_s: float) -> EagerPoint:
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


def measure(spec: EagerSpec) -> list[EagerPoint]:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    points = []
    with torch.inference_mode():
        if spec.kind == "video":
            from jepa_export.checkpoints import load_vjepa2_hf, video_geometry
            from jepa_export.modules import VideoEncoderForExport

            model = load_vjepa2_hf(spec.checkpoint)
            geometry = video_geometry(model)
            encoder = VideoEncoderForExport(model).eval()
            for batch in spec.batch_sizes:
                pixels = torch.randn(batch, geometry.frames_per_clip, 3, geometry.crop_size, geometry.crop_size)
                points.append(_time_calls(lambda: encoder(pixels), batch, spec.duration_s))
        else:
            from sentence_transformers import SentenceTransformer

            from jepa_export.checkpoints import bundled_minilm_dir

            model = SentenceTransformer(str(bundled_minilm_dir()), device="cpu")
            for batch in spec.batch_sizes:
                texts = (spec.texts * (1 + batch // max(len(spec.texts), 1)))[:batch]
                points.append(_time_calls(lambda: model.encode(texts, batch_size=batch, normalize_embeddings=True), batch, spec.duration_s))
    return points


if __name__ == "__main__":
    result = measure(EagerSpec.model_validate_json(sys.argv[1]))
    print(json.dumps([point.model_dump() for point in result]))
