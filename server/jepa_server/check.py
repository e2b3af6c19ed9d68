"""`jepa-serve check`: is a repository servable? The one repository check there is: Triton loads
it, the gateway's registry accepts every model's parameters, every video and text model answers
one request with a finite, L2-normalised embedding, and every world model encodes an image and
rolls out one step with finite values of the declared shapes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from jepa_server.backends.triton import TritonBackend
from jepa_server.core.registry import VIDEO_INPUT, ModelRegistry, TextModel, VideoModel, WorldModel
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
        checked = set(requests)
        for world in registry.worlds.values():
            for name, ok, shown in await _check_world(backend, world):
                failures += not ok
                checked.add(name)
                print(f"{name} (version {world.encoder.version if name == world.encoder.name else 'of ' + world.world_space}): {shown}: {'ok' if ok else 'FAILED'}")
        for name in sorted(set(served) - checked):
            print(f"{name}: loaded (role {served[name].role}, no request defined)")
        if not checked:
            print(f"{repository}: no video, text or world model to check", file=sys.stderr)
        return 1 if failures or not checked else 0
    finally:
        await backend.close()


async def _check_world(backend: TritonBackend, world: WorldModel) -> list[tuple[str, bool, str]]:
    """(model, passed, what it answered): one encoded image, then one step rolled out from it."""
    side = world.geometry.crop_size
    tokens = (await backend.infer(world.encoder, {"pixel_values": np.zeros((1, 3, side, side), np.float32)}, ["observation_tokens"]))["observation_tokens"]
    results = [(world.encoder.name, tokens.shape == (1, world.tokens, world.token_dim) and bool(np.isfinite(tokens).all()), f"observation_tokens {tokens.shape}")]
    actions, state = np.zeros((2, 1, world.action_dim), np.float32), ((world.state_low + world.state_high) / 2)[None].astype(np.float32)
    if world.rollout is not None:
        inputs = {"observation_tokens": tokens, "state": state, "goal_tokens": tokens, "actions": actions}
        energies = (await backend.infer(world.rollout, inputs, ["energies"]))["energies"]
        results.append((world.rollout.name, energies.shape == (2, 1) and bool(np.isfinite(energies).all()), f"energies {energies.shape}"))
    if world.predictor is not None:
        inputs = {"context_tokens": tokens, "actions": actions[:1], "states": state[:, None]}
        predicted = (await backend.infer(world.predictor, inputs, ["next_tokens"]))["next_tokens"]
        results.append((world.predictor.name, predicted.shape == tokens.shape and bool(np.isfinite(predicted).all()), f"next_tokens {predicted.shape}"))
    return results
