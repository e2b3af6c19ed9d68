"""Files that are not the video a server hopes for, made for real with PyAV and the stdlib."""

from __future__ import annotations

import io
import wave

import av
import numpy as np


def _encode(container_format: str, codec: str, frames: list[av.VideoFrame], rate: int = 8, **stream_options: str) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, options=stream_options)
        stream.width, stream.height = frames[0].width, frames[0].height
        stream.pix_fmt = frames[0].format.name
        for frame in frames:
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def still_png(size: int = 32) -> bytes:
    """A PNG image: FFmpeg opens it as a one-frame "video" (png_pipe)."""
    frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), 128, np.uint8), format="rgb24")
    return _encode("image2pipe", "png", [frame])


def wav_audio(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


def audio_only_mp4(frames: int = 8, rate: int = 16000) -> bytes:
    """An mp4 (m4a) holding one AAC stream and no video."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate)
        for index in range(frames):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, index * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def zero_frame_mkv(size: int = 64) -> bytes:
    """A Matroska file whose h264 video stream has no packet at all."""
    buffer = io.BytesIO()
    container = av.open(buffer, "w", format="matroska")
    stream = container.add_stream("h264", rate=8)
    stream.width = stream.height = size
    stream.pix_fmt = "yuv420p"
    container.start_encoding()
    container.close()
    return buffer.getvalue()


def enormous_resolution_mkv(width: int = 8000, height: int = 8000) -> bytes:
    """One flat h264 frame of width x height (~190 KB for 8000x8000, under a second to encode):
    the container headers announce the size before anything is decoded."""
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    return _encode("matroska", "libx264", [frame], rate=1, preset="ultrafast")
