"""Real video inputs for verification: a synthetic clip encoded and decoded with PyAV, then
preprocessed with the gateway's recipe, so artifacts are compared on what Triton will really see.

The recipe (short side to `resize_short_side` with FFmpeg's bilinear scaler, centre crop, /255,
ImageNet mean/std, channels first) is written out here because the export stage must not import
the server; `docs/repository-format.md` is the contract both follow.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from jepa_export.checkpoints import VideoGeometry


def write_synthetic_video(path: Path, scenes: int, frames_per_scene: int, width: int = 320, height: int = 240, fps: int = 16) -> Path:
    """Encode `scenes` visually different scenes (background, colour, motion) as H.264 in an mp4.

    Different scenes give clip embeddings that are apart from each other, which the neighbour
    ranking check needs.
    """
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for scene in range(scenes):
            tint = np.array([(scene * 97) % 256, (scene * 53 + 80) % 256, (scene * 29 + 160) % 256], np.float32)
            angle = scene * 0.9
            stripes = 0.5 + 0.5 * np.sin((np.cos(angle) * columns + np.sin(angle) * rows) / (6.0 + 3 * scene))
            for index in range(frames_per_scene):
                image = stripes[..., None] * tint
                size = height // (3 + scene % 3)
                top = (index * (4 + scene) + scene * 17) % (height - size)
                left = (index * (7 - scene % 5) + scene * 41) % (width - size)
                image[top : top + size, left : left + size] = 255.0 - tint
                frame = av.VideoFrame.from_ndarray(image.clip(0, 255).astype(np.uint8), format="rgb24")
                container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def _resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    scale = short_side / min(width, height)
    return max(short_side, round(width * scale)), max(short_side, round(height * scale))


def decode_clips(path: Path, geometry: VideoGeometry, frames_per_clip: int, image_mean: tuple[float, ...], image_std: tuple[float, ...]) -> np.ndarray:
    """Decode every frame, cut consecutive windows of `frames_per_clip`: float32 (W, T, 3, S, S)."""
    crop = geometry.crop_size
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            width, height = _resized_size(frame.width, frame.height, geometry.resize_short_side)
            rgb = frame.to_ndarray(width=width, height=height, format="rgb24", interpolation="BILINEAR")
            top, left = (height - crop) // 2, (width - crop) // 2
            frames.append(rgb[top : top + crop, left : left + crop])
    windows = len(frames) // frames_per_clip
    if windows == 0:
        raise ValueError(f"{path}: {len(frames)} frames decoded, need at least {frames_per_clip}")
    clips = np.stack(frames[: windows * frames_per_clip]).reshape(windows, frames_per_clip, crop, crop, 3)
    pixels = (clips.astype(np.float32) * np.float32(1 / 255) - np.asarray(image_mean, np.float32)) / np.asarray(image_std, np.float32)
    return np.ascontiguousarray(np.moveaxis(pixels, -1, -3))
