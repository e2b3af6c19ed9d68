"""Real video inputs for verification: a synthetic clip encoded with PyAV, then decoded and
preprocessed by `jepa_media`, the code the gateway serves with, so artifacts are compared on what
Triton will really see."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from jepa_media import ClipGeometry, DecodeLimits, SamplingPlan, prepare_video

from jepa_export.checkpoints import VideoGeometry

MAX_VERIFICATION_WINDOWS = 64


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


def decode_clips(path: Path, geometry: VideoGeometry, frames_per_clip: int, image_mean: tuple[float, float, float], image_std: tuple[float, float, float]) -> np.ndarray:
    """Every frame, cut into consecutive windows of `frames_per_clip`: float32 (W, T, 3, S, S)."""
    clip_geometry = ClipGeometry(
        frames_per_clip=frames_per_clip, crop_size=geometry.crop_size, resize_short_side=geometry.resize_short_side,
        tubelet_size=geometry.tubelet_size, image_mean=image_mean, image_std=image_std,
    )
    plan = SamplingPlan(frames_per_clip=frames_per_clip, max_windows=MAX_VERIFICATION_WINDOWS)
    return prepare_video(path, clip_geometry, plan, DecodeLimits(), field=str(path)).pixel_values
