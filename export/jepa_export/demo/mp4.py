"""Writes demo frames as real H.264 mp4 files, so the server ingests what users would send."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

DEFAULT_CRF = 12  # near-lossless: a compression artefact should not change a 64 px shape's colour


def write_mp4(frames: np.ndarray, path: Path, fps: float = 8.0, crf: int = DEFAULT_CRF) -> Path:
    """Encodes uint8 (T, H, W, 3) RGB frames (H and W even) with libx264, yuv420p."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames: got {frames.dtype} {frames.shape}, need uint8 (T, H, W, 3)")
    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        raise ValueError(f"frames: got {width}x{height}, need even width and height for yuv420p")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def read_mp4(path: Path) -> np.ndarray:
    """Decodes every frame to uint8 (T, H, W, 3) RGB (for tests and offline checks)."""
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
