"""`jepa-serve check`: is a repository servable? The one repository check there is: Triton loads
it, the gateway's registry accepts every model's parameters, and every video and text model
answers one request with a finite, L2-normalised embedding."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from jepa_server.backends.triton import TritonBackend
from jepa_server.core.registry import VIDEO_INPUT, ModelRegistry, TextModel, VideoModel
from jepa_server.errors import MalformedRepository


async def check_repository(repository: Path, triton_url: str) -> int:
    """0 when every model passed; 1 otherwise (each failure printed with its model)."""
    backend = TritonBackend(triton_url, timeout_s=120.0)
    try:
        served = await backend.discover()
        try:
            registry = ModelRegistry(served, repository, token_bucket=16)
        except MalformedRepository as error:
            print(f"jepa-serve check: {repository}: {error}", file=sys.stderr)
            return 1
        requests: dict[str, tuple[VideoModel | TextModel, dict[str, np.ndarray]]] = {
            name: (model, {VIDEO_INPUT: np.random.default_rng(0).standard_normal((1, model.geometry.frames_per_clip, 3, model.geometry.crop_size, model.geometry.crop_size), np.float32)})
            for name, model in registry.video.items()
        }
        model: VideoModel | TextModel
        for name, model in registry.text.items():
            tokens = model.tokenizer.encode(["a dog catching a frisbee"])
            requests[name] = (model, {"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask})
        failures = 0
        for name, (model, inputs) in sorted(requests.items()):
            embedding = (await backend.infer(model.served, inputs, [model.output]))[model.output]
            norm = float(np.linalg.norm(embedding))
            ok = embedding.shape == (1, model.dimension) and bool(np.isfinite(embedding).all()) and abs(norm - 1.0) < 1e-3
            failures += not ok
            print(f"{name} (version {model.info.version}): {model.output} {embedding.shape}, norm {norm:.4f}: {'ok' if ok else 'FAILED'}")
        for name in sorted(set(served) - set(requests)):
            print(f"{name}: loaded (role {served[name].role}, no request defined)")
        if not requests:
            print(f"{repository}: no video or text model to check", file=sys.stderr)
        return 1 if failures or not requests else 0
    finally:
        await backend.close()
