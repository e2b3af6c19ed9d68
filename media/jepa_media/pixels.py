"""From one decoded frame to model pixels: short side to `resize_short_side` with FFmpeg's
bilinear scaler, centre crop, then /255, mean/std and channels first (the V-JEPA 2 processor's
recipe)."""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ClipGeometry:
    """How a video model wants its pixels (the `jepa.*` parameters of its Triton config)."""

    frames_per_clip: int
    crop_size: int
    resize_short_side: int
    tubelet_size: int = 2
    image_mean: tuple[float, float, float] = IMAGENET_MEAN
    image_std: tuple[float, float, float] = IMAGENET_STD


def resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    scale = short_side / min(width, height)
    return max(short_side, round(width * scale)), max(short_side, round(height * scale))


def _centre_crop(image: np.ndarray, crop_size: int) -> np.ndarray:
    top = (image.shape[0] - crop_size) // 2
    left = (image.shape[1] - crop_size) // 2
    return image[top : top + crop_size, left : left + crop_size]


def resize_and_crop(frame: av.VideoFrame, geometry: ClipGeometry) -> np.ndarray:
    """uint8 (S, S, 3) RGB of one frame."""
    width, height = resized_size(frame.width, frame.height, geometry.resize_short_side)
    # Scale in the decoder's own pixel format, then convert the small frame to RGB: FFmpeg's
    # combined scale + YUV-to-packed-RGB path costs about twice the CPU. One thread per call:
    # PyAV >= 17 otherwise starts a scaler thread pool for every frame, and the gateway's decode
    # pool is already the parallelism (benchmarks/RESULTS.md, decode study).
    resized = frame.reformat(width=width, height=height, interpolation="BILINEAR", threads=1)
    return _centre_crop(resized.to_ndarray(format="rgb24", threads=1), geometry.crop_size)


def normalise(frames: np.ndarray, image_mean: tuple[float, ...], image_std: tuple[float, ...]) -> np.ndarray:
    """uint8 (..., T, S, S, 3) -> float32 (..., T, 3, S, S), (x/255 - mean) / std, looked up in a
    256-entry table per channel: one pass over the pixels instead of five, and the same float32
    values as computing it directly."""
    mean = np.asarray(image_mean, dtype=np.float32)[:, None]
    std = np.asarray(image_std, dtype=np.float32)[:, None]
    table = (np.arange(256, dtype=np.float32) / np.float32(255.0) - mean) / std
    channels_first = np.moveaxis(frames, -1, -3)
    pixels = np.empty(channels_first.shape, dtype=np.float32)
    for channel in range(3):
        np.take(table[channel], channels_first[..., channel, :, :], out=pixels[..., channel, :, :], mode="clip")
    return pixels
