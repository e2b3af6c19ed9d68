"""Real video files for tests, encoded with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def moving_bar_frames(num_frames: int, height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """uint8 (T, H, W, 3): a coloured bar moving over a noisy background, different per seed."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 80, size=(height, width, 3), dtype=np.uint8)
    colour = rng.integers(120, 256, size=3, dtype=np.uint8)
    frames = np.repeat(background[None], num_frames, axis=0)
    for index in range(num_frames):
        left = (index * 5 + seed * 17) % (width - 16)
        frames[index, :, left : left + 16] = colour
    return frames


def write_video(path: Path, frames: np.ndarray, fps: int = 8, codec: str = "h264", container_format: str | None = None) -> Path:
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1], frames.shape[2]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
