"""A small still of a video, for reports that show what a row is (duplicates, outliers)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

THUMBNAIL_HEIGHT = 96
_FRAMES_SCANNED = 48


def thumbnail_png(path: Path, height: int = THUMBNAIL_HEIGHT) -> bytes:
    """PNG of the video's middle frame among its first `_FRAMES_SCANNED`, `height` pixels high."""
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        width = max(2, round(stream.codec_context.width * height / max(stream.codec_context.height, 1)) // 2 * 2)
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24", width=width, height=height))
            if len(frames) >= _FRAMES_SCANNED:
                break
    if not frames:
        raise ValueError(f"{path}: no video frames")
    still = frames[len(frames) // 2]
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = still.shape[1], still.shape[0], "rgb24"
    packets = encoder.encode(av.VideoFrame.from_ndarray(still, format="rgb24")) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)
