"""Inputs for the studies: sentences of realistic lengths, h264 files, decoded frames, and
clustered embedding vectors (real embeddings cluster; uniform random vectors would flatter
neither index nor brute force)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

_WORDS = (
    "a the dog cat person man woman child car bicycle ball street kitchen beach forest city night day "
    "runs jumps walks cooks throws catches rides opens closes slowly quickly across under over near "
    "red blue green small large old young busy quiet crowded empty wooden glass camera scene video"
).split()


def sentences(count: int, seed: int = 0, min_words: int = 6, max_words: int = 24) -> list[str]:
    """Query-like sentences of 6-24 words (8-32 tokens)."""
    rng = np.random.default_rng(seed)
    return [
        " ".join(rng.choice(_WORDS, size=int(rng.integers(min_words, max_words + 1))))
        for _ in range(count)
    ]


def synthetic_frames(num_frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """uint8 (T, H, W, 3): textured background with moving shapes, so h264 has real work to do."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0, 4 * np.pi, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 6 * np.pi, width, dtype=np.float32)[None, :]
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    noise = rng.integers(0, 24, size=(height, width, 3), dtype=np.uint8)
    for index in range(num_frames):
        phase = index * 0.15
        base = 110 + 60 * np.sin(rows + phase) * np.cos(cols - phase)
        image = np.stack([base, base * 0.8 + 30, 200 - base * 0.6], axis=-1).clip(0, 255).astype(np.uint8) + noise
        size = max(8, height // 6)
        top = int((height - size) * (0.5 + 0.4 * np.sin(phase)))
        left = int((width - size) * ((index * 7) % 100) / 100)
        image[top : top + size, left : left + size] = (230, 60, 40)
        frames[index] = image
    return frames


def h264_file(path: Path, height: int, width: int, num_frames: int, fps: int = 30) -> Path:
    """An h264 mp4 (yuv420p, x264 defaults) of synthetic frames; cached by path."""
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.mp4")
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("h264", rate=fps)
        stream.height, stream.width, stream.pix_fmt = height, width, "yuv420p"
        for image in synthetic_frames(num_frames, height, width):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.rename(path)
    return path


def clustered_vectors(count: int, dimension: int, clusters: int = 256, spread: float = 0.35, seed: int = 0) -> np.ndarray:
    """L2-normalised float32 vectors drawn around `clusters` random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dimension)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, clusters, size=count)
    vectors = centres[labels] + spread * rng.standard_normal((count, dimension)).astype(np.float32) / np.sqrt(dimension)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
